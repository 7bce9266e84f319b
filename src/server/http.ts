import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { GraphQLError, type GraphQLSchema, type ValidationRule } from 'graphql';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { authenticateRequest } from '../auth/session';
import { ErrorCode, tooMuchInFlight } from '../contract/errors';
import { createInFlightLimit } from '../lib/inFlight';
import { createContext, type Context, type Services } from '../resolvers/context';
import { costModel } from './costModel';
import type { createErrorFormatter } from './formatError';
import { metricsHandler } from './metricsEndpoint';
import { responseCost } from './queryLimits';

/** Largest HTTP body or WebSocket message: 100,000 emoji escaped in JSON fit with room to spare. */
export const MAX_PAYLOAD_BYTES = 2 * 1024 * 1024;

/** Options of `createApollo`. */
export interface HttpOptions {
  app: Express;
  httpServer: Server;
  schema: GraphQLSchema;
  services: Services;
  formatError: ReturnType<typeof createErrorFormatter>;
  validationRules: ValidationRule[];
  /** What keeps the process from serving fully right now; empty when ready. */
  readiness: () => Promise<string[]>;
  /** Runs when Apollo drains, after the HTTP server stopped accepting: ends the WebSocket side. */
  drain: () => Promise<void>;
}

/**
 * Apollo Server at POST /graphql (and GET /healthz) on `app`: one context per
 * request, errors in GraphQL's shape even for bodies that are not GraphQL.
 */
export async function createApollo(options: HttpOptions): Promise<ApolloServer<Context>> {
  const { app, httpServer, schema, services, formatError, validationRules, readiness, drain } = options;
  const { config } = services;
  const drainWebSockets: ApolloServerPlugin<Context> = {
    serverWillStart: async () => ({ drainServer: drain }),
  };
  const inFlight = createInFlightLimit(config.maxQueryCostBytesInFlight);
  const operationLimits: ApolloServerPlugin<Context> = {
    requestDidStart: async () => ({
      didResolveOperation: async ({ operation, operationName, document, request, contextValue }) => {
        // A subscription cannot run over HTTP: say where it can, as the client's mistake (400), before any work.
        if (operation?.operation === 'subscription') {
          const host = request.http?.headers.get('host');
          const url = config.publicUrl ?? (host ? `ws://${host}/graphql` : 'this endpoint over WebSocket');
          throw new GraphQLError(`Subscriptions use the graphql-ws protocol: connect to ${url} and subscribe there.`, {
            extensions: { code: ErrorCode.BadUserInput, http: { status: 400 } },
          });
        }
        const { cost, error } = responseCost(
          { schema, document, operationName, variables: request.variables },
          costModel,
          config.maxQueryCostBytes,
        );
        if (error) {
          throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });
        }
        // What is being answered is held until the client has taken it (or is cut off): a user's
        // clients that ask for large answers and do not read them cannot pile them up here.
        const { auth, clientAddress } = contextValue;
        const release = inFlight.take('userId' in auth ? `user ${auth.userId}` : `address ${clientAddress}`, cost);
        if (!release) {
          services.metrics.rateLimited.inc({ limit: 'in-flight' });
          const refused = tooMuchInFlight(config.maxQueryCostBytesInFlight);
          throw new GraphQLError(refused.message, { extensions: { ...refused.extensions, http: { status: 429 } } });
        }
        void (contextValue.responseOver ?? Promise.resolve()).then(release);
      },
    }),
  };
  const apollo = new ApolloServer<Context>({
    schema,
    formatError,
    introspection: config.introspection,
    // No "Did you mean ...?" naming the schema's fields when the schema is not to be read (formatError strips the rest).
    hideSchemaDetailsFromClientErrors: !config.introspection,
    includeStacktraceInErrorResponses: config.development,
    validationRules,
    parseOptions: { maxTokens: config.maxQueryTokens },
    // main.ts owns signals: Apollo's own handlers would stop the server behind its back and re-raise the signal.
    stopOnTerminationSignals: false,
    plugins: [
      operationLog(services),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      drainWebSockets,
      operationLimits,
      // No field has a cache hint, and the default cache-control plugin hooks every field resolved.
      ApolloServerPluginCacheControlDisabled(),
      // Apollo's landing page loads Apollo Sandbox from a CDN: browsers get the bundled GraphiQL instead.
      ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  // Liveness: the process serves. Readiness: it can reach what it needs, so a load balancer may send it traffic.
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const problems = await readiness();
    res
      .status(problems.length === 0 ? 200 : 503)
      .json(problems.length === 0 ? { status: 'ready' } : { status: 'unavailable', reasons: problems });
  });
  // Prometheus text. Nothing in it identifies a user; still, only the scraper should read it (see README).
  if (config.metricsPublic) app.get('/metrics', metricsHandler(services.metrics.registry, config.metricsToken));
  serveGraphiql(app, config.graphiql);
  app.use(
    '/graphql',
    assignRequestId,
    browserCors(cors({ origin: config.corsOrigins === '*' ? '*' : config.corsOrigins })),
    express.json({ limit: MAX_PAYLOAD_BYTES }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const responseOver = new Promise<void>((resolve) => res.once('close', resolve));
        return createContext(
          services,
          await authenticateRequest(services.tokens, services.revocations, req.headers.authorization),
          req.ip ?? 'unknown',
          { requestId: String(res.locals.requestId), responseOver },
        );
      },
    }),
  );
  app.use(bodyErrors);
  return apollo;
}

/** Where `npm run build` puts the GraphiQL bundle (scripts/build-graphiql.mjs): beside dist/server, or, running from src, in dist. */
const graphiqlDirs = [join(__dirname, '..', 'graphiql'), join(__dirname, '..', '..', 'dist', 'graphiql')];

/**
 * GraphiQL for browsers: GET /graphql asking for HTML gets the page, its
 * assets come from /graphiql/. Everything is in the bundle; the page makes no
 * request to any other host. Off (GRAPHIQL=false), such a GET says so.
 */
function serveGraphiql(app: Express, enabled: boolean): void {
  const dir = graphiqlDirs.find((d) => existsSync(join(d, 'index.html')));
  const page: RequestHandler = (req, res, next) => {
    // GraphQL over GET (and anything not preferring HTML) stays with Apollo.
    if (req.accepts(['application/json', 'text/html']) !== 'text/html') return next();
    if (!enabled) {
      res.status(404).type('text/plain').send('GraphiQL is off on this server (GRAPHIQL=false).\n');
    } else if (!dir) {
      res.status(503).type('text/plain').send('GraphiQL is not built: run `npm run build`.\n');
    } else {
      res.sendFile(join(dir, 'index.html'));
    }
  };
  app.get('/graphql', page);
  if (enabled && dir) app.use('/graphiql', express.static(dir, { index: false, maxAge: '1h' }));
}

/** A request id the client sent (X-Request-Id, from a proxy say) is kept if it is a plain token; else a new one. */
const assignRequestId: RequestHandler = (req, res, next) => {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.setHeader('x-request-id', id);
  next();
};

/**
 * One debug line per HTTP operation (request id, operation, user, time, error
 * codes; never variables, which hold passwords), and the request id in every
 * error's extensions, so that a client's report finds the line.
 */
function operationLog(services: Services): ApolloServerPlugin<Context> {
  return {
    requestDidStart: async ({ contextValue }) => {
      const started = performance.now();
      return {
        willSendResponse: async ({ response, operation, operationName }) => {
          const body = response.body;
          const errors = body.kind === 'single' ? body.singleResult.errors : undefined;
          for (const error of errors ?? []) {
            (error as { extensions?: Record<string, unknown> }).extensions = {
              ...error.extensions,
              requestId: contextValue.requestId,
            };
          }
          if (!services.log.debugEnabled) return;
          services.log.debug('http operation', {
            requestId: contextValue.requestId,
            operation: operation?.operation ?? null,
            operationName: operationName ?? null,
            userId: 'userId' in contextValue.auth ? contextValue.auth.userId : null,
            ms: Math.round((performance.now() - started) * 10) / 10,
            errors: (errors ?? []).map((e) => e.extensions?.code ?? null),
          });
        },
      };
    },
  };
}

/** CORS is a browser's concern: a request without an Origin header (servers, apps, curl) needs none of its headers. */
const browserCors =
  (corsHeaders: RequestHandler): RequestHandler =>
  (req, res, next) =>
    req.headers.origin === undefined ? next() : corsHeaders(req, res, next);

/** Refused bodies (malformed JSON, too large) answered in GraphQL's error shape, never as an HTML page. */
const bodyErrors: ErrorRequestHandler = (error: { status?: number; type?: string }, _req, res, next) => {
  const requestId = res.locals.requestId as string | undefined;
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
  res.status(status).json({ errors: [{ message, extensions: { code, ...(requestId ? { requestId } : {}) } }] });
};
