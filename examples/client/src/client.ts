/**
 * An Apollo Client for the chat API: queries and mutations over HTTP,
 * subscriptions over graphql-ws on the same URL, both authenticated with
 * tokens from one Session (renewed before they expire), and a cache that
 * pages history Relay-style.
 */
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition, relayStylePagination } from '@apollo/client/utilities';
import { createClient, type Client } from 'graphql-ws';
import { from, mergeMap, of, type Observable } from 'rxjs';
import WebSocket from 'ws';
import { isUnauthenticated, SessionEndedError, type Session } from './session';

/** The server closes a connection whose token expired with this code; a renewed token gets back in. */
const TOKEN_EXPIRED = 4403;
/** A connection of an ended session (logOut, revokeSession): retrying cannot help. */
const SESSION_ENDED = 4401;

/** The client, its WebSocket connection (to watch or close it) and what its tokens went through. */
export interface ChatClient {
  apollo: ApolloClient;
  ws: Client;
  counts: {
    /** HTTP operations sent again with a renewed token after an UNAUTHENTICATED answer. */
    retries: number;
    /** WebSocket connections closed because their token expired. */
    expiries: number;
  };
}

/** A client of the server at `httpUrl` (http://host:port/graphql), signed in through `session` when given. */
export function createChatClient(httpUrl: string, session?: Session): ChatClient {
  const counts = { retries: 0, expiries: 0 };
  const ws = createSocket(httpUrl.replace(/^http/, 'ws'), session, counts);
  const http = new HttpLink({ uri: httpUrl });
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
    },
    new GraphQLWsLink(ws),
    session ? authLink(session, counts).concat(http) : http,
  );
  const cache = new InMemoryCache({
    typePolicies: {
      Query: {
        fields: {
          // One list per conversation; pages fetched with `before` are prepended, `after` appended.
          messages: relayStylePagination(['conversationId']),
        },
      },
    },
  });
  return { apollo: new ApolloClient({ link, cache }), ws, counts };
}

/**
 * graphql-ws asks for connectionParams on every (re)connect, so each
 * connection starts with a fresh token; when the server closes one with
 * 4403 at expiry, graphql-ws reconnects and the session renews.
 */
function createSocket(url: string, session: Session | undefined, counts: ChatClient['counts']): Client {
  let sent: string | undefined;
  return createClient({
    url,
    // Node 20 has no global WebSocket; browsers and Node 22+ need no webSocketImpl.
    webSocketImpl: WebSocket,
    connectionParams: async () => {
      if (!session) return {};
      sent = await connectionToken(session);
      return { authorization: `Bearer ${sent}` };
    },
    // Reconnects by itself; resubscribing with `after` (see main.ts) makes the history whole again.
    retryAttempts: 10,
    retryWait: (retries) => pause(Math.min(200 * 2 ** retries, 10_000) * (0.5 + Math.random() / 2)),
    shouldRetry: (event) => closeCode(event) !== SESSION_ENDED,
    on: {
      closed: (event) => {
        if (closeCode(event) !== TOKEN_EXPIRED) return;
        counts.expiries++;
        // The server's clock decides: even a token this device thinks is fresh gets renewed.
        if (sent) session?.refused(sent);
      },
    },
  });
}

/**
 * A renewed token, or on a failed renewal (server briefly unreachable) the
 * stale one: the server then closes with 4403 and graphql-ws retries with
 * backoff, whereas an error thrown here would close the client for good.
 * Only an ended session is final.
 */
async function connectionToken(session: Session): Promise<string> {
  try {
    return await session.getToken();
  } catch (error) {
    if (error instanceof SessionEndedError) throw error;
    return session.token;
  }
}

/**
 * Sets each HTTP operation's Authorization from the session and, when the
 * server answers UNAUTHENTICATED (the token expired by its clock), renews and
 * sends the operation once more. Once only: if the renewed token is refused
 * too, the answer goes to the caller. Resending is safe for this API's
 * mutations: sendMessage is idempotent through clientMessageId.
 */
function authLink(session: Session, counts: ChatClient['counts']): ApolloLink {
  return new ApolloLink((operation, forward) => {
    const send = (token: string): Observable<ApolloLink.Result> => {
      operation.setContext(({ headers }) => ({ headers: { ...headers, authorization: `Bearer ${token}` } }));
      return forward(operation);
    };
    return from(session.getToken()).pipe(
      mergeMap((token) =>
        send(token).pipe(
          mergeMap((result) => {
            if (!('errors' in result) || !isUnauthenticated(result.errors)) return of(result);
            counts.retries++;
            session.refused(token);
            return from(session.getToken()).pipe(mergeMap(send));
          }),
        ),
      ),
    );
  });
}

/** A WebSocket close event's code, or undefined for anything else (an error event). */
function closeCode(event: unknown): number | undefined {
  return typeof event === 'object' && event !== null && 'code' in event && typeof event.code === 'number'
    ? event.code
    : undefined;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
