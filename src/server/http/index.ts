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
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { authenticateRequest } from '../../auth/session';
import type { Services } from '../../app/services';
import { MEDIA_PATH } from '../../media/media';
import { createContext, type Context } from '../../resolvers/context';
import type { createErrorFormatter } from '../formatError';
import { serveGraphiql } from './graphiql';
import { bodyErrorAnswer, createGraphqlPostHandler, isPlainGraphqlPost } from './graphqlPost';
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
  /** The client's address (X-Forwarded-For only from a trusted proxy). */
  clientAddress: (request: IncomingMessage) => string;
  /** Runs when Apollo drains, after the HTTP server stopped accepting: ends the WebSocket side. */
  drain: () => Promise<void>;
}

/** Apollo, and what answers the HTTP server's requests. */
export interface Http {
  apollo: ApolloServer<Context>;
  /** The HTTP server's request listener: plain JSON POSTs to /graphql directly, the rest through `app`. */
  handle: RequestListener;
}

/**
 * Apollo Server at POST /graphql (and GET /healthz) on `app`: one context per
 * request, errors in GraphQL's shape even for bodies that are not GraphQL.
 */
export async function createApollo(options: HttpOptions): Promise<Http> {
  const { app, httpServer, schema, services, formatError, validationRules, readiness, drain, clientAddress } = options;
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
  const context = async (req: IncomingMessage, res: ServerResponse, requestId: string) => {
    const responseOver = new Promise<void>((resolve) => res.once('close', resolve));
    return createContext(
      services,
      await authenticateRequest(services.tokens, services.revocations, req.headers.authorization),
      // Undefined once the client is gone, as Express's req.ip was.
      (clientAddress(req) as string | undefined) ?? 'unknown',
      { requestId, responseOver, userAgent: req.headers['user-agent'] },
    );
  };
  const graphqlCors = cors({ origin: config.corsOrigins === '*' ? '*' : config.corsOrigins });
  // Other requests to /graphql (GET, other body types or encodings, another path below it) take Express's chain.
  app.use(
    '/graphql',
    assignRequestId,
    browserCors(graphqlCors),
    express.json({ limit: MAX_PAYLOAD_BYTES }),
    expressMiddleware(apollo, {
      context: ({ req, res }) => context(req, res, String(res.locals.requestId)),
    }),
  );
  app.use(bodyErrors);
  const graphqlPost = createGraphqlPostHandler({
    apollo,
    maxBodyBytes: MAX_PAYLOAD_BYTES,
    requestId,
    cors: graphqlCors,
    context,
  });
  return {
    apollo,
    handle: (req, res) => (isPlainGraphqlPost(req) ? graphqlPost(req, res) : app(req, res)),
  };
}

/** A request id the client sent (X-Request-Id, from a proxy say) is kept if it is a plain token; else a new one. */
function requestId(given: string | string[] | undefined): string {
  return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
}

const assignRequestId: RequestHandler = (req, res, next) => {
  const id = requestId(req.headers['x-request-id']);
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
  if (res.headersSent) return next(error);
  const refused = bodyErrorAnswer(error, MAX_PAYLOAD_BYTES, res.locals.requestId as string | undefined);
  res.status(refused.status).type('application/json').send(refused.body);
};
