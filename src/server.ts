import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import { makeExecutableSchema } from '@graphql-tools/schema';
import cors from 'cors';
import express, { type ErrorRequestHandler } from 'express';
import {
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode, type Context as WsContext } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerToken, createTokenService, defaultScryptParams, type ScryptParams, type TokenClaims } from './auth';
import type { Config } from './config';
import { createLocalDiscovery, type Discovery } from './discovery';
import { createContext, type Auth, type Services } from './context';
import { createErrorFormatter, ErrorCode, parseFailed, tooManySubscriptions, validationFailed } from './errors';
import { createIdGenerator } from './ids';
import { createLogger, type Logger } from './log';
import { createLocalPresence, type PresenceOptions, type PresenceTracker } from './presence';
import { publishPresence } from './presenceStream';
import { createPushNotifier, type PushNotifierOptions, type PushSender } from './push';
import type { PubSub } from './pubsub/pubsub';
import { maxFieldsRule } from './queryLimits';
import { createRateLimiter } from './rateLimit';
import { resolvers } from './resolvers';
import { loadTypeDefs } from './schema';
import type { Store } from './store/store';

/** Largest HTTP body or WebSocket message: 100,000 emoji escaped in JSON fit with room to spare. */
const MAX_PAYLOAD_BYTES = 2 * 1024 * 1024;

/** What `startServer` needs; everything else it builds from `config`. */
export interface ServerOptions {
  config: Config;
  store: Store;
  pubsub: PubSub;
  /** @default a logger at config.logLevel */
  log?: Logger;
  /** Password hashing cost. @default defaultScryptParams */
  passwordParams?: ScryptParams;
  /**
   * Makes the presence tracker, given where to report status changes.
   * @default presence within this process
   */
  presence?: (options: PresenceOptions) => PresenceTracker;
  /** Where clients should connect; the server registers itself there. @default this process alone */
  discovery?: Discovery;
  /** Sends push notifications to members with no device online. @default none: push is off */
  pushSender?: PushSender | null;
  /** Bounds of the push queue. @default createPushNotifier's */
  pushLimits?: Pick<PushNotifierOptions, 'maxPending' | 'concurrency' | 'sendTimeoutMs'>;
  /** The clock. @default () => new Date() */
  now?: () => Date;
  /** graphql-ws keep-alive ping interval; a socket that misses a pong is dropped. @default 12000 */
  keepAliveMs?: number;
}

/** A running server. */
export interface RunningServer {
  /** http://host:port/graphql */
  url: string;
  /** ws://host:port/graphql */
  wsUrl: string;
  port: number;
  /** Stops accepting, closes every socket and waits for requests in flight. Idempotent. */
  stop(): Promise<void>;
}

/** The executable schema: the SDL files of src/schema with the resolvers of src/resolvers. */
export function buildSchema(): GraphQLSchema {
  return makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers });
}

/**
 * One HTTP server on one port: Apollo Server at POST /graphql and graphql-ws
 * on the same path, sharing schema, services and error formatting.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config, store, pubsub } = options;
  const log = options.log ?? createLogger(config.logLevel);
  const presence = (options.presence ?? createLocalPresence)({
    graceMs: config.presenceGraceMs,
    // Fanned out to friends' pair channels; a failure only costs that announcement.
    onChange: (record) => void publishPresence(store, pubsub, record).catch((error) => log.warn('presence fan-out failed', error)),
  });
  const services: Services = {
    config,
    store,
    pubsub,
    log,
    ids: createIdGenerator({ workerId: config.workerId ?? 0 }),
    tokens: createTokenService(config.jwtSecret, config.tokenTtlSeconds),
    presence,
    push: createPushNotifier({ store, presence, sender: options.pushSender ?? null, log, ...options.pushLimits }),
    discovery: options.discovery ?? createLocalDiscovery(),
    passwordParams: options.passwordParams ?? defaultScryptParams,
    limiters: { messages: createRateLimiter(config.messageRate), auth: createRateLimiter(config.authRate) },
    now: options.now ?? (() => new Date()),
  };
  const schema = buildSchema();
  const formatError = createErrorFormatter({
    development: config.development,
    logError: (message, error) => log.error(message, error),
  });
  const validationRules = [maxFieldsRule(config.maxQueryFields)];

  const authenticate = (authorization: unknown): Auth => {
    const token = bearerToken(authorization);
    if (token === null) return { failure: 'missing' };
    if (token === 'invalid') return { failure: 'invalid' };
    const claims = services.tokens.verify(token);
    return typeof claims === 'string' ? { failure: claims } : claims;
  };

  const app = express();
  app.disable('x-powered-by');
  const httpServer = createServer(app);
  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: MAX_PAYLOAD_BYTES });
  const connections = { open: 0 };
  const ws = attachGraphqlWs({ wsServer, schema, services, authenticate, formatError, validationRules, connections, keepAliveMs: options.keepAliveMs });

  const apollo = new ApolloServer<ReturnType<typeof createContext>>({
    schema,
    formatError,
    introspection: true,
    includeStacktraceInErrorResponses: config.development,
    validationRules,
    // main.ts owns signals: Apollo's own handlers would stop the server behind its back and re-raise the signal.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { serverWillStart: async () => ({ drainServer: async () => { await ws.dispose(); } }) },
    ],
  });
  await apollo.start();

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use(
    '/graphql',
    cors({ origin: config.corsOrigins === '*' ? '*' : config.corsOrigins }),
    express.json({ limit: MAX_PAYLOAD_BYTES }),
    expressMiddleware(apollo, {
      context: async ({ req }) => createContext(services, authenticate(req.headers.authorization), req.ip ?? 'unknown'),
    }),
  );
  app.use(bodyErrors);

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const { port } = httpServer.address() as AddressInfo;
  const host = config.host && config.host !== '0.0.0.0' && config.host !== '::' ? config.host : 'localhost';

  const wsUrl = `ws://${host}:${port}/graphql`;
  const registration = services.discovery.register(config.publicUrl ?? wsUrl, () => connections.open);

  let stopping: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}/graphql`,
    wsUrl,
    port,
    // Out of discovery first, so that no client is sent here while it drains.
    stop: () =>
      (stopping ??= registration
        .stop()
        .then(() => apollo.stop())
        .then(() => {
          services.push.close();
          return services.presence.close();
        })),
  };
}

/** Refused bodies (malformed JSON, too large) answered in GraphQL's error shape, never as an HTML page. */
const bodyErrors: ErrorRequestHandler = (error: { status?: number; type?: string }, _req, res, next) => {
  if (res.headersSent) return next(error);
  const status = typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
  const message =
    error.type === 'entity.parse.failed'
      ? 'The request body is not valid JSON.'
      : error.type === 'entity.too.large'
        ? `The request body is larger than ${MAX_PAYLOAD_BYTES} bytes.`
        : status < 500
          ? 'The request could not be read.'
          : 'Internal server error.';
  const code = status < 500 ? ErrorCode.BadUserInput : ErrorCode.Internal;
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
};

interface GraphqlWsOptions {
  wsServer: WebSocketServer;
  schema: GraphQLSchema;
  services: Services;
  authenticate: (authorization: unknown) => Auth;
  formatError: ReturnType<typeof createErrorFormatter>;
  validationRules: typeof specifiedRules;
  /** Counts open, authenticated connections. */
  connections: { open: number };
  keepAliveMs: number | undefined;
}

type Extra = { socket: WebSocket; request: IncomingMessage };

/**
 * graphql-ws on the shared HTTP server: authenticates once in onConnect
 * (closing with 4401 before any subscription starts), then parses, validates
 * and builds a fresh context for each subscription itself, so that a bad
 * document is answered with an error instead of a closed socket.
 */
function attachGraphqlWs(options: GraphqlWsOptions) {
  const { wsServer, schema, services, authenticate, formatError, validationRules, connections } = options;
  const viewers = new WeakMap<WsContext<Record<string, unknown>, Extra>, TokenClaims>();
  const rules = [...specifiedRules, ...validationRules];

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

  return useServer<Record<string, unknown>, Extra>(
    {
      schema,
      onConnect: async (ctx) => {
        const auth = authenticate(ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization);
        const user = 'failure' in auth ? null : (await services.store.users.getMany([auth.userId]))[0];
        if ('failure' in auth || !user) {
          const why = 'failure' in auth ? auth.failure : 'unknown user';
          ctx.extra.socket.close(CloseCode.Unauthorized, `Unauthorized: ${why} token`);
          return false;
        }
        viewers.set(ctx, auth);
        connections.open++;
        await services.presence.connected(auth.userId);
        return true;
      },
      onClose: (ctx) => {
        const claims = viewers.get(ctx);
        if (!claims) return;
        viewers.delete(ctx);
        connections.open--;
        void services.presence.disconnected(claims.userId);
      },
      onSubscribe: (ctx, _id, payload) => {
        const claims = viewers.get(ctx);
        if (!claims) return [new GraphQLError('Unauthorized', { extensions: { code: ErrorCode.Unauthenticated } })];
        // ctx.subscriptions already holds this one.
        const max = services.config.maxSubscriptionsPerConnection;
        if (Object.keys(ctx.subscriptions).length > max) return [tooManySubscriptions(max)];
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [parseFailed(error instanceof Error ? error.message : 'Syntax error')];
        }
        const errors = validate(schema, document, rules);
        if (errors.length > 0) return errors.map((e) => validationFailed(e.message));
        const address = ctx.extra.request.socket.remoteAddress ?? 'unknown';
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: createContext(services, claims, address, { cacheLoaders: false }),
        };
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map(format) } : undefined,
      onError: (_ctx, _id, _payload, errors) => errors.map(format),
    },
    wsServer,
    // Pings often enough that a connection that stopped answering is dropped well within the presence timeout.
    options.keepAliveMs ?? Math.min(12_000, Math.floor(services.config.presenceTimeoutMs / 3)),
  );
}
