/**
 * Where Prometheus reads the metrics (app/metrics.ts): GET /metrics on the
 * public port, or on a listener of its own (METRICS_PORT), behind a bearer
 * token when METRICS_TOKEN is set.
 */
import express, { type RequestHandler } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/**
 * GET /metrics: the registry in Prometheus text. With `token`, only for
 * `Authorization: Bearer <token>` (compared in constant time); anything else
 * is answered 401 and nothing is collected.
 */
export function metricsHandler(registry: Registry, token: string | undefined): RequestHandler {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  const expected = token === undefined ? null : digest(`Bearer ${token}`);
  return async (req, res) => {
    const given = req.headers.authorization;
    if (expected && (given === undefined || !timingSafeEqual(digest(given), expected))) {
      res.status(401).set('WWW-Authenticate', 'Bearer').type('text/plain').send('A bearer token is required.\n');
      return;
    }
    res.type(registry.contentType).send(await registry.metrics());
  };
}

/** A running metrics listener. */
export interface MetricsListener {
  /** http://host:port/metrics */
  url: string;
  /** Stops listening and closes its connections (a scraper's kept-alive one included). */
  stop(): Promise<void>;
}

/** Serves `handler` at GET /metrics, and nothing else, on `port` of `host`. */
export async function startMetricsListener(
  handler: RequestHandler,
  { port, host }: { port: number; host: string | undefined },
): Promise<MetricsListener> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', handler);
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = host && host !== '0.0.0.0' && host !== '::' ? host : 'localhost';
  let stopping: Promise<void> | null = null;
  return {
    url: `http://${shown}:${address.port}/metrics`,
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
