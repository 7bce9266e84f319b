import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  getOperationAST,
  GraphQLError,
  Kind,
  parse,
  specifiedRules,
  subscribe,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { CloseCode, type Context as WsContext } from 'graphql-ws';
import { LRUCache } from 'lru-cache';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { authenticateConnection } from '../auth/session';
import type { TokenClaims } from '../auth/tokens';
import { ErrorCode, parseFailed, tooManySubscriptions, validationFailed } from '../contract/errors';
import { createByteBudget, type ByteBudget } from '../lib/byteBudget';
import type { Release } from '../lib/slots';
import { createContext, type Context, type Services } from '../resolvers/context';
import { viewerIndependentFields } from '../resolvers/shared';
import { createAdmission, TOO_MANY_CONNECTIONS } from './admission';
import { costModel } from './costModel';
import type { createErrorFormatter } from './formatError';
import { checkResponseCost } from './queryLimits';
import { createSessionWatch } from './sessionWatch';
import { createSharedDelivery, type DeliveryTarget, type SharedPlan } from './sharedDelivery';

/** The first root field an operation selects (a subscription has exactly one). */
function rootField(document: DocumentNode, operationName: string | null | undefined): string {
  const selection = getOperationAST(document, operationName)?.selectionSet.selections[0];
  return selection?.kind === Kind.FIELD ? selection.name.value : 'unknown';
}

/** Options of `attachGraphqlWs`. */
export interface GraphqlWsOptions {
  wsServer: WebSocketServer;
  schema: GraphQLSchema;
  services: Services;
  formatError: ReturnType<typeof createErrorFormatter>;
  validationRules: ValidationRule[];
  /** Counts open, authenticated connections. */
  connections: { open: number };
  /** The client's address (TRUST_PROXY decides whether X-Forwarded-For is read), for per-client limits. */
  clientAddress: (request: IncomingMessage) => string;
  /** Keep-alive ping interval; a socket that misses a pong is dropped. @default min(12000, presence timeout / 3) */
  keepAliveMs: number | undefined;
}

type Extra = { socket: WebSocket; request: IncomingMessage };

/** WebSocket close code 1013: try again later. */
const TRY_AGAIN_LATER = 1013;
/** How long a connection closed for not reading gets to read its close frame before it is cut off. */
const CLOSE_GRACE_MS = 1000;
/**
 * The cache of parsed and validated subscription documents: subscribers mostly
 * send the same few short texts. Only documents that passed are kept, only
 * texts up to a few KiB, and the texts kept add up to a bound, so that no
 * client can fill the cache with large or broken documents.
 */
const DOCUMENT_CACHE = { maxEntries: 1000, maxTextChars: 16 * 1024, maxTotalChars: 1024 * 1024 };

/**
 * graphql-ws on the shared HTTP server: authenticates once in onConnect
 * (closing with 4401 before any subscription starts), then parses, validates
 * and builds a fresh context for each subscription itself, so that a bad
 * document is answered with an error instead of a closed socket.
 */
export function attachGraphqlWs(options: GraphqlWsOptions) {
  const { wsServer, schema, services, formatError, validationRules, connections } = options;
  const viewers = new WeakMap<
    WsContext<Record<string, unknown>, Extra>,
    { claims: TokenClaims; budget: ByteBudget; connectionId: string; since: number; release: Release }
  >();
  const { log } = services;
  const rules = [...specifiedRules, ...validationRules];
  const sessions = createSessionWatch(services);
  /** Subscriptions delivered through `shared`, by their context. */
  const sharedTargets = new WeakMap<Context, { plan: SharedPlan; target: DeliveryTarget }>();
  const admission = createAdmission(services.slots, services.config);
  /**
   * The root field of each running subscription, by connection and id, for the subscriptions gauge,
   * and its place under the user's cap.
   */
  const running = new WeakMap<object, Map<string, { field: string; release: Release }>>();
  const { metrics } = services;
  const started = (ctx: object, id: string, field: string, release: Release) => {
    let mine = running.get(ctx);
    if (!mine) running.set(ctx, (mine = new Map()));
    if (mine.has(id)) return release();
    mine.set(id, { field, release });
    metrics.subscriptions.inc({ field });
  };
  const ended = (ctx: WsContext<Record<string, unknown>, Extra>, id?: string) => {
    const mine = running.get(ctx);
    for (const [key, { field, release }] of mine ?? []) {
      if (id !== undefined && key !== id) continue;
      mine!.delete(key);
      release();
      metrics.subscriptions.dec({ field });
      if (log.debugEnabled) log.debug('subscription ended', { requestId: requestIdOf(ctx, key), field });
    }
  };
  /** A subscription's request id: its connection's id and its own, as errors and log lines carry it. */
  const requestIdOf = (ctx: WsContext<Record<string, unknown>, Extra>, id: string) =>
    `${viewers.get(ctx)?.connectionId ?? 'unauthenticated'}/${id}`;
  const withRequestId = (errors: readonly GraphQLFormattedError[], requestId: string) =>
    errors.map((e) => ({ ...e, extensions: { ...e.extensions, requestId } }));
  /** Parsed and validated documents by their text. */
  const documents = new LRUCache<string, DocumentNode>({
    max: DOCUMENT_CACHE.maxEntries,
    maxSize: DOCUMENT_CACHE.maxTotalChars,
    maxEntrySize: DOCUMENT_CACHE.maxTextChars,
    sizeCalculation: (_document, query) => query.length,
  });

  /**
   * A connection's bound on bytes waiting to be sent: its subscriptions' queued
   * events and the socket's unsent buffer. Past it the connection is closed
   * with 1013 (try again later), later events for it are dropped, and it is cut
   * off shortly after, for a client that reads nothing does not read the close
   * frame either. Closing frees its subscriptions; the client resumes with `after`.
   */
  const connectionBudget = (socket: WebSocket) =>
    createByteBudget({
      maxBytes: services.config.wsMaxBufferedBytes,
      external: () => socket.bufferedAmount,
      onExceeded: (held) => {
        services.log.debug(`closing a connection that is not reading: ${held} bytes waiting`);
        socket.close(TRY_AGAIN_LATER, 'Not reading what it is sent: reconnect and resume with after');
        setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
      },
    });

  /**
   * graphql's own errors about the request (variable coercion and the like) carry no code and,
   * unlike failures inside a resolver, no path: they are the client's fault.
   */
  const format = (error: GraphQLError) =>
    formatError(
      error.extensions.code === undefined && error.path === undefined
        ? { ...error.toJSON(), extensions: { code: ErrorCode.BadUserInput } }
        : error.toJSON(),
      error,
    );

  /** A result as the client is to see it. */
  const formatResult = (result: ExecutionResult) =>
    result.errors ? { ...result, errors: result.errors.map(format) } : result;

  const shared = createSharedDelivery({
    schema,
    sharedFields: viewerIndependentFields,
    createContext: () => createContext(services, { failure: 'missing' }, 'shared'),
    formatResult,
  });

  /** The document of a query text, parsed (within the token bound) and validated, or what is wrong with it. */
  function documentOf(query: string): DocumentNode | readonly GraphQLError[] {
    const known = documents.get(query);
    if (known) return known;
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: services.config.maxQueryTokens });
    } catch (error) {
      return [parseFailed(error instanceof Error ? error.message : 'Syntax error')];
    }
    const errors = validate(schema, document, rules);
    if (errors.length > 0) return errors.map((e) => validationFailed(e.message));
    documents.set(query, document);
    return document;
  }

  const server = useServer<Record<string, unknown>, Extra>(
    {
      schema,
      // Subscriptions that read nothing viewer-dependent share one execution per event; the rest run per subscriber.
      subscribe: (args) => {
        const delivery = sharedTargets.get(args.contextValue as Context);
        return delivery ? shared.subscribe(args, delivery.plan, delivery.target) : subscribe(args);
      },
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const auth = await authenticateConnection(services.tokens, services.revocations, services.store, authorization);
        const { socket, request } = ctx.extra;
        if ('failure' in auth) {
          socket.close(CloseCode.Unauthorized, `Unauthorized: ${auth.failure}`);
          return false;
        }
        const address = options.clientAddress(request);
        const admitted = await admission.connection(auth.claims.userId, address);
        if ('refused' in admitted) {
          metrics.rateLimited.inc({ limit: 'connections' });
          socket.close(TOO_MANY_CONNECTIONS, admitted.refused);
          return false;
        }
        // Gone while it was being admitted: onClose has run already, and would not give its place back.
        if (socket.readyState !== socket.OPEN) {
          admitted();
          return false;
        }
        const connectionId = randomUUID();
        viewers.set(ctx, {
          claims: auth.claims,
          budget: connectionBudget(socket),
          connectionId,
          since: Date.now(),
          release: admitted,
        });
        if (log.debugEnabled) log.debug('ws connected', { connectionId, userId: auth.claims.userId, address });
        sessions.opened(ctx.extra.socket, auth.claims);
        connections.open++;
        metrics.connections.inc();
        await services.presence.connected(auth.claims.userId);
        return true;
      },
      onClose: (ctx, code) => {
        const viewer = viewers.get(ctx);
        if (!viewer) return;
        ended(ctx);
        viewers.delete(ctx);
        viewer.release();
        if (log.debugEnabled) {
          const { connectionId, claims, since } = viewer;
          log.debug('ws closed', { connectionId, userId: claims.userId, code, seconds: (Date.now() - since) / 1000 });
        }
        sessions.closed(ctx.extra.socket, viewer.claims);
        connections.open--;
        metrics.connections.dec();
        void services.presence.disconnected(viewer.claims.userId);
      },
      onSubscribe: async (ctx, id, payload) => {
        const viewer = viewers.get(ctx);
        if (!viewer) return [new GraphQLError('Unauthorized', { extensions: { code: ErrorCode.Unauthenticated } })];
        // ctx.subscriptions already holds this one.
        const max = services.config.maxSubscriptionsPerConnection;
        if (Object.keys(ctx.subscriptions).length > max) return [tooManySubscriptions(max)];
        const document = documentOf(payload.query);
        if (!('kind' in document)) return [...document];
        const { operationName, variables } = payload;
        const tooCostly = checkResponseCost(
          { schema, document, operationName, variables },
          costModel,
          services.config.maxQueryCostBytes,
        );
        if (tooCostly) return [tooCostly];
        const place = await admission.subscription(viewer.claims.userId);
        if (!place) {
          metrics.rateLimited.inc({ limit: 'subscriptions' });
          return [tooManySubscriptions(services.config.maxSubscriptionsPerUser, 'user')];
        }
        // Completed, or the connection closed, while it waited for its place.
        if (!(id in ctx.subscriptions) || !viewers.has(ctx)) {
          place();
          return [
            new GraphQLError('Subscription ended before it started', { extensions: { code: ErrorCode.BadUserInput } }),
          ];
        }
        const address = options.clientAddress(ctx.extra.request);
        const requestId = `${viewer.connectionId}/${id}`;
        const contextValue = createContext(services, viewer.claims, address, {
          cacheLoaders: false,
          budget: viewer.budget,
          requestId,
        });
        const plan = shared.plan(document, operationName);
        if (plan)
          sharedTargets.set(contextValue, { plan, target: { id, socket: ctx.extra.socket, budget: viewer.budget } });
        const field = rootField(document, operationName);
        started(ctx, id, field, place);
        if (log.debugEnabled) log.debug('subscription started', { requestId, field, shared: plan !== null });
        return { schema, document, operationName, variableValues: variables, contextValue };
      },
      onNext: (ctx, id, _payload, _args, result) => {
        // The socket's own unsent buffer counts against the connection's bound too.
        viewers.get(ctx)?.budget.take(0);
        if (!result.errors) return undefined;
        const formatted = formatResult(result);
        return { ...formatted, errors: withRequestId(formatted.errors!, requestIdOf(ctx, id)) };
      },
      onError: (ctx, id, _payload, errors) => {
        const requestId = requestIdOf(ctx, id);
        ended(ctx, id);
        return withRequestId(errors.map(format), requestId);
      },
      onComplete: (ctx, id) => ended(ctx, id),
    },
    wsServer,
    // Pings often enough that a connection that stopped answering is dropped well within the presence timeout.
    options.keepAliveMs ?? Math.min(12_000, Math.floor(services.config.presenceTimeoutMs / 3)),
  );
  return {
    async dispose() {
      await sessions.stop();
      await server.dispose();
    },
  };
}
