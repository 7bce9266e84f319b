/* global window */
// GraphiQL's fetcher: queries and mutations over HTTP, subscriptions over graphql-ws on the same URL, both
// signed in with the page's token (renewed when it is due, and once more when the server refuses it), or
// with the Authorization header of GraphiQL's Headers pane where there is one. That header reaches the
// fetcher with every operation, but graphql-ws signs in once per connection (connectionParams): so a
// subscription with such a header runs on a connection of its own, opened with that header.
import { createClient } from 'graphql-ws';
import { isUnauthenticated, post } from './api.js';

const UNAUTHORIZED = 4401;
/** The server's close code for an expired token; graphql-ws retries it, asking connectionParams again. */
const FORBIDDEN = 4403;

const isCloseEvent = (value) =>
  value !== null && typeof value === 'object' && typeof value.code === 'number' && 'reason' in value;

/** The Authorization value among `headers` (any capitalisation), or null. */
function authorizationIn(headers) {
  const [, value] = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === 'authorization') ?? [];
  return typeof value === 'string' && value.trim() ? value.trim() : null;
}

/** Whether the operation to run (`operationName`, or the only one) is a subscription. */
function isSubscription(document, operationName) {
  const operations = (document?.definitions ?? []).filter((d) => d.kind === 'OperationDefinition');
  const chosen = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  return chosen?.operation === 'subscription';
}

/** graphql-ws's backoff (about 2^retries seconds, randomised), with no wait at all before `immediately()` retries. */
const backoff = (immediately) => (retries) =>
  new Promise((resolve) =>
    window.setTimeout(resolve, immediately() ? 0 : 2 ** retries * 1000 + 300 + Math.random() * 2700),
  );

/** An answer that did nothing: no field has a value, so running the operation again repeats nothing. */
const didNothing = (result) => !result?.data || Object.values(result.data).every((value) => value === null);

/** A subscription's iterator whose close events read as errors, and whose `return` ends the subscription at once. */
function readableCloses(iterator) {
  const readable = {
    next: () =>
      iterator.next().catch((error) => {
        if (!isCloseEvent(error)) throw error;
        throw new Error(`The WebSocket was closed: ${error.code} ${error.reason}`.trim());
      }),
    return: () => iterator.return(),
    [Symbol.asyncIterator]: () => readable,
  };
  return readable;
}

/**
 * The fetcher for GraphiQL. `onRefused` is told whenever the server refused the page's token for good (not
 * renewed), so that the label can say why.
 */
export function createFetcher({ httpUrl, wsUrl, session, onRefused }) {
  let pageClient = null;
  let pageSignInId = null;
  /** Connections signed in with a Headers-pane Authorization value: lazy, so they hold no socket while unused. */
  const paneClients = new Map();

  function createPageClient() {
    let sentAuthorization = null;
    let lastClose = null;
    return createClient({
      url: wsUrl,
      lazy: true,
      // Asked at every (re)connection, so that a reconnection after 4403 carries the renewed token.
      connectionParams: async () => {
        sentAuthorization = await session.authorization();
        return sentAuthorization ? { authorization: sentAuthorization } : {};
      },
      shouldRetry: (event) => isCloseEvent(event) && !(event.code === FORBIDDEN && !session.canRenew()),
      retryWait: backoff(() => lastClose === FORBIDDEN && session.canRenew()),
      on: {
        closed: (event) => {
          lastClose = event?.code;
          // Renewal starts now; the reconnection's connectionParams waits for it.
          if (lastClose === FORBIDDEN && session.canRenew()) void session.renewed(sentAuthorization);
          else if (lastClose === FORBIDDEN || lastClose === UNAUTHORIZED) onRefused();
        },
      },
    });
  }

  /** The connection of the page's token; one signed in as somebody else ends it (and its subscriptions). */
  function pageConnection() {
    const { signInId } = session.snapshot();
    if (pageClient && signInId !== pageSignInId) {
      void pageClient.dispose();
      pageClient = null;
    }
    pageSignInId = signInId;
    pageClient ??= createPageClient();
    return pageClient;
  }
  session.subscribe(() => {
    if (pageClient && session.snapshot().signInId !== pageSignInId) pageConnection();
  });

  function paneConnection(authorization) {
    if (!paneClients.has(authorization)) {
      const client = createClient({
        url: wsUrl,
        lazy: true,
        connectionParams: { authorization },
        // Nothing renews a token of the Headers pane: an expired one is final.
        shouldRetry: (event) => isCloseEvent(event) && event.code !== FORBIDDEN,
      });
      paneClients.set(authorization, client);
    }
    return paneClients.get(authorization);
  }

  async function overHttp(params, headers) {
    if (authorizationIn(headers)) return post(httpUrl, params, headers);
    const authorization = await session.authorization();
    const withToken = (value) => (value ? { ...headers, authorization: value } : headers);
    let result = await post(httpUrl, params, withToken(authorization));
    if (!authorization || !isUnauthenticated(result)) return result;
    if (didNothing(result)) {
      const renewed = await session.renewed(authorization);
      if (renewed) result = await post(httpUrl, params, withToken(renewed));
    }
    if (isUnauthenticated(result)) onRefused();
    return result;
  }

  return (params, options) => {
    if (!isSubscription(options?.documentAST, params.operationName)) return overHttp(params, options?.headers);
    const authorization = authorizationIn(options?.headers);
    const client = authorization ? paneConnection(authorization) : pageConnection();
    return readableCloses(client.iterate(params));
  };
}
