import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { GraphQLSchema, ValidationRule } from 'graphql';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { authenticateRequest } from '../../auth/session';
import { ErrorCode } from '../../contract/errors';
import type { Services } from '../../app/services';
import { MEDIA_PATH } from '../../media/media';
import { createContext, type Context } from '../../resolvers/context';
import type { createErrorFormatter } from '../formatError';
import { serveGraphiql } from './graphiql';
import { metricsHandler } from './metrics';
import { drainWebSockets } from './plugins/drainWebSockets';
import { operationLimits } from './plugins/operationLimits';
import { operationLog } from './plugins/operationLog';

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
      drainWebSockets(drain),
      operationLimits(schema, services),
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
  const { served } = services.media;
  if (served) {
    // Signed uploads and downloads of the local media directory; S3's URLs point at the bucket instead.
    const mediaCors = cors({
      origin: config.corsOrigins === '*' ? '*' : config.corsOrigins,
      methods: ['GET', 'PUT'],
      exposedHeaders: ['content-disposition'],
    });
    app.use(MEDIA_PATH, browserCors(mediaCors), (req, res) => served.handle(req, res));
  }
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
          { requestId: String(res.locals.requestId), responseOver, userAgent: req.headers['user-agent'] },
        );
      },
    }),
  );
  app.use(bodyErrors);
  return apollo;
}

/** A request id the client sent (X-Request-Id, from a proxy say) is kept if it is a plain token; else a new one. */
const assignRequestId: RequestHandler = (req, res, next) => {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.setHeader('x-request-id', id);
  next();
};

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
