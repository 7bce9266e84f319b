import type { IncomingMessage } from 'node:http';
import {
  GraphQLError,
  specifiedRules,
  subscribe,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocketServer } from 'ws';
import { ErrorCode } from '../../contract/errors';
import type { Services } from '../../app/services';
import { createContext } from '../../resolvers/context';
import { viewerIndependentFields } from '../../resolvers/shared';
import type { createErrorFormatter } from '../formatError';
import { createSharedDelivery } from '../../execution/sharedDelivery';
import { createKeepAlive } from '../../lib/keepAlive';
import { createAdmission } from './admission';
import { createConnections, type ConnectionContext, type Extra } from './connections';
import { createSubscriptionAdmission, type SubscriptionContext } from './subscriptions';

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

/**
 * graphql-ws on the shared HTTP server: connections are authenticated and
 * admitted once in onConnect (connections.ts); each subscription is parsed,
 * validated, admitted and given a fresh context in onSubscribe
 * (subscriptions.ts), so that a bad document is answered with an error instead
 * of a closed socket. Subscriptions whose selection is the same for every
 * viewer share one execution per event (sharedDelivery.ts).
 */
export function attachGraphqlWs(options: GraphqlWsOptions) {
  const { wsServer, schema, services, formatError, validationRules } = options;

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
  const admission = createAdmission(services.slots, services.config);
  const connections = createConnections({
    services,
    admission,
    connections: options.connections,
    clientAddress: options.clientAddress,
  });
  const subscriptions = createSubscriptionAdmission({
    schema,
    services,
    rules: [...specifiedRules, ...validationRules],
    clientAddress: (ctx) => connections.viewerOf(ctx)?.address ?? options.clientAddress(ctx.extra.request!),
    planOf: (document, operationName) => shared.plan(document, operationName),
    admission,
  });

  /** A subscription's request id: its connection's id and its own, as errors and log lines carry it. */
  const requestIdOf = (ctx: ConnectionContext) => (id: string) =>
    `${connections.viewerOf(ctx)?.connectionId ?? 'unauthenticated'}/${id}`;
  const withRequestId = (errors: readonly GraphQLFormattedError[], requestId: string) =>
    errors.map((e) => ({ ...e, extensions: { ...e.extensions, requestId } }));

  const server = useServer<Record<string, unknown>, Extra>(
    {
      schema,
      subscribe: (args) => {
        const delivery = (args.contextValue as SubscriptionContext).shared;
        return delivery ? shared.subscribe(args, delivery.plan, delivery.target) : subscribe(args);
      },
      onConnect: (ctx) => connections.open(ctx),
      onClose: (ctx, code) => {
        const viewer = connections.viewerOf(ctx);
        if (!viewer) return;
        subscriptions.ended(ctx, requestIdOf(ctx));
        connections.closed(ctx, viewer, code);
      },
      onSubscribe: async (ctx, id, payload) => {
        const viewer = connections.viewerOf(ctx);
        if (!viewer) return [new GraphQLError('Unauthorized', { extensions: { code: ErrorCode.Unauthenticated } })];
        const admitted = await subscriptions.admit(ctx, viewer, id, payload, () => !!connections.viewerOf(ctx));
        return 'schema' in admitted ? admitted : [...admitted];
      },
      onNext: (ctx, id, _payload, _args, result) => {
        // The socket's own unsent buffer counts against the connection's bound too.
        connections.viewerOf(ctx)?.budget.take(0);
        if (!result.errors) return undefined;
        const formatted = formatResult(result);
        return { ...formatted, errors: withRequestId(formatted.errors!, requestIdOf(ctx)(id)) };
      },
      onError: (ctx, id, _payload, errors) => {
        const requestId = requestIdOf(ctx)(id);
        subscriptions.ended(ctx, requestIdOf(ctx), id);
        return withRequestId(errors.map(format), requestId);
      },
      onComplete: (ctx, id) => subscriptions.ended(ctx, requestIdOf(ctx), id),
    },
    wsServer,
    // One keep-alive for all sockets (below) instead of graphql-ws's timer per socket.
    0,
  );
  // Pings often enough that a connection that stopped answering is dropped well within the presence timeout.
  const keepAlive = createKeepAlive(
    wsServer,
    options.keepAliveMs ?? Math.min(12_000, Math.floor(services.config.presenceTimeoutMs / 3)),
  );
  return {
    async dispose() {
      keepAlive.stop();
      await connections.stop();
      await server.dispose();
    },
  };
}
