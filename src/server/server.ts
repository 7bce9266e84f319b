import { createServer, type IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';
import type { AddressInfo } from 'node:net';
import { makeExecutableSchema } from '@graphql-tools/schema';
import express from 'express';
import type { GraphQLSchema } from 'graphql';
import { WebSocketServer } from 'ws';
import { ConfigError } from '../config';
import { cutOffWhenStalled } from '../lib/stalledWrites';
import { resolvers } from '../resolvers';
import { resumeAccountDeletions, stopAccountDeletions } from '../resolvers/accountDeletion';
import { loadTypeDefs } from '../schema';
import { createErrorFormatter } from './formatError';
import { createApollo, MAX_PAYLOAD_BYTES } from './http';
import { metricsHandler, startMetricsListener } from './http/metrics';
import { maxFieldsRule } from '../execution/queryLimits';
import { createServices, type ServiceOptions } from '../app/services';
import { startUploadSweeper } from '../attachments/sweeper';
import { attachGraphqlWs } from './ws';

/** What `startServer` needs: the services' options, and transport settings. */
export interface ServerOptions extends ServiceOptions {
  /** How often uploads never attached are looked for (and those a day old deleted). @default 3600000 (an hour) */
  uploadSweepIntervalMs?: number;
  /** What keeps the process from serving fully right now, for GET /readyz. @default always ready */
  readiness?: () => Promise<string[]>;
  /** graphql-ws keep-alive ping interval; a socket that misses a pong is dropped. @default 12000 */
  keepAliveMs?: number;
  /** How long HTTP clients may take to send a request; tests shorten them. @default HTTP_REQUEST_TIMEOUTS */
  httpRequestTimeouts?: Partial<HttpRequestTimeouts>;
}

/** How long an HTTP client may take to send its request, in milliseconds (node:http's timeouts). */
export interface HttpRequestTimeouts {
  /** From the request's first byte to the end of its headers. */
  headersMs: number;
  /** From the request's first byte to the end of its body. */
  requestMs: number;
  /** How often connections are checked against the two: the timeouts are kept to within this. */
  checkIntervalMs: number;
}

/**
 * Headers are a few hundred bytes, sent at once: 10 s is plenty on any link,
 * and a client that dribbles them (slowloris) is dropped well before node's
 * default of 60 s. A body is at most 2 MiB (MAX_PAYLOAD_BYTES): a minute is
 * about 300 kbit/s, where node would wait 5 minutes. Checked every 2 s, not
 * every 30 s. Upgraded (WebSocket) connections are not subject to them.
 */
export const HTTP_REQUEST_TIMEOUTS: HttpRequestTimeouts = {
  headersMs: 10_000,
  requestMs: 60_000,
  checkIntervalMs: 2000,
};

/** A running server. */
export interface RunningServer {
  /** http://host:port/graphql */
  url: string;
  /** ws://host:port/graphql */
  wsUrl: string;
  port: number;
  /** http://host:port/metrics when METRICS_PORT gives metrics a listener of their own, else null. */
  metricsUrl: string | null;
  /** Stops accepting, closes every socket and waits for requests in flight. Idempotent. */
  stop(): Promise<void>;
}

/** PORT in use or not allowed, as one line naming the variable (main.ts prints a ConfigError without a stack). */
function portError(port: number, error: NodeJS.ErrnoException): ConfigError {
  return new ConfigError(
    error.code === 'EADDRINUSE'
      ? `PORT: ${port} is in use by another process; stop it or set PORT to a free port`
      : `PORT: this user may not listen on port ${port}; choose one above 1023`,
  );
}

/** The executable schema: the SDL files of src/schema with the resolvers of src/resolvers. */
export function buildSchema(): GraphQLSchema {
  return makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers });
}

/**
 * One HTTP server on one port: Apollo Server at POST /graphql (http.ts) and
 * graphql-ws on the same path (ws.ts), sharing schema, services and error
 * formatting. Registers itself with discovery once listening.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const services = createServices(options);
  const { config, log } = services;
  const schema = buildSchema();
  const formatError = createErrorFormatter({
    development: config.development,
    hideSchemaDetails: !config.introspection,
    logError: (message, error) => log.error(message, error),
    logUnavailable: (message, error) => log.warn(message, error),
    onError: (code) => services.metrics.errors.inc({ code }),
  });
  const validationRules = [maxFieldsRule(config.maxQueryFields)];

  const app = express();
  app.disable('x-powered-by');
  // Only behind a proxy that is configured as trusted is X-Forwarded-For the client's address.
  if (config.trustProxy !== undefined) app.set('trust proxy', config.trustProxy);
  const trusted = app.get('trust proxy fn') as Parameters<typeof proxyAddr>[1];
  const clientAddress = (request: IncomingMessage) => proxyAddr(request, trusted);
  const timeouts = { ...HTTP_REQUEST_TIMEOUTS, ...options.httpRequestTimeouts };
  const httpServer = createServer({
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    connectionsCheckingInterval: timeouts.checkIntervalMs,
    keepAliveTimeout: config.httpKeepAliveTimeoutMs,
  });
  // Before the app: every response is watched from its start, however soon the app answers.
  httpServer.on('request', (_request, response) =>
    cutOffWhenStalled(response, config.httpWriteTimeoutMs, (unsent) =>
      log.debug('http response cut off: its client stopped reading', { unsentBytes: unsent }),
    ),
  );
  // Upgrades are handed over here rather than through ws's `server` option, which would also hand the HTTP
  // server's own errors (PORT in use) to graphql-ws as the WebSocket server's, to be logged as a crash.
  const wsServer = new WebSocketServer({ noServer: true, path: '/graphql', maxPayload: MAX_PAYLOAD_BYTES });
  httpServer.on('upgrade', (request, socket, head) =>
    // A path other than /graphql is refused with 400 by ws itself.
    wsServer.handleUpgrade(request, socket, head, (client) => wsServer.emit('connection', client, request)),
  );
  const connections = { open: 0 };
  const ws = attachGraphqlWs({
    wsServer,
    schema,
    services,
    formatError,
    validationRules,
    connections,
    clientAddress,
    keepAliveMs: options.keepAliveMs,
  });
  const { apollo, handle } = await createApollo({
    app,
    clientAddress,
    httpServer,
    schema,
    services,
    formatError,
    validationRules,
    readiness: options.readiness ?? (async () => []),
    drain: async () => {
      await ws.dispose();
    },
  });

  httpServer.on('request', handle);

  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' || error.code === 'EACCES' ? portError(config.port, error) : error);
    httpServer.once('error', failed);
    httpServer.listen(config.port, config.host, () => {
      httpServer.off('error', failed);
      resolve();
    });
  });
  const metricsListener =
    config.metricsPort === undefined
      ? null
      : await startMetricsListener(metricsHandler(services.metrics.registry, config.metricsToken), {
          port: config.metricsPort,
          host: config.host,
        });
  const { port } = httpServer.address() as AddressInfo;
  const host = config.host && config.host !== '0.0.0.0' && config.host !== '::' ? config.host : 'localhost';

  const wsUrl = `ws://${host}:${port}/graphql`;
  // Media URLs this server answers point here, unless MEDIA_PUBLIC_URL says where clients reach it.
  services.media.served?.setOrigin(`http://${host.includes(':') ? `[${host}]` : host}:${port}`);
  const registration = services.discovery.register(config.publicUrl ?? wsUrl, () => connections.open);
  // Deletions an earlier process left half-way are finished in the background.
  void resumeAccountDeletions(services).catch((error: unknown) =>
    log.warn('account deletion: the start-up sweep failed', error),
  );
  const sweeper = startUploadSweeper(services, options.uploadSweepIntervalMs ?? 3_600_000);

  let stopping: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}/graphql`,
    wsUrl,
    port,
    metricsUrl: metricsListener?.url ?? null,
    // Out of discovery first, so that no client is sent here while it drains.
    stop: () =>
      (stopping ??= registration
        .stop()
        .then(() => sweeper.stop())
        .then(() => apollo.stop())
        .then(() => stopAccountDeletions(services))
        .then(() => metricsListener?.stop())
        .then(() => {
          services.push.close();
          return Promise.all([services.presence.close(), services.slots.close()]).then(() => undefined);
        })),
  };
}
