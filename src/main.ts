/**
 * The composition root and the only reader of process.env: configuration,
 * then the store and pub/sub backends, then the server (which builds every
 * service once, app/services.ts), then signals.
 */
import type { WorkerLease } from './cluster/workerLease/lease';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './lib/log';
import { openBackends } from './app/backends';
import { createPushSender } from './push/fcm';
import { startServer } from './server/server';

/**
 * TEST_KILL_AFTER_DELETION_STEPS=n: the process kills itself (SIGKILL) after
 * the n-th step of an account deletion, so that a test can see a later start
 * finish it. For tests only; unset in production.
 */
function deletionFault(env: NodeJS.ProcessEnv): ((steps: number) => void) | undefined {
  const after = Number(env.TEST_KILL_AFTER_DELETION_STEPS);
  if (!Number.isInteger(after) || after < 1) return undefined;
  return (steps) => {
    if (steps >= after) process.kill(process.pid, 'SIGKILL');
  };
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel, { format: config.logFormat });
  if (config.jwtSecretGenerated) {
    log.warn('JWT_SECRET is not set: using a random secret, so tokens stop working when this process exits');
  }
  // Before the backends: a missing firebase-admin is a configuration error, and needs nothing closed.
  const pushSender = await createPushSender(config.pushCredentials, log);
  const backends = await openBackends(config, log);
  const { store, pubsub, media, redis, workerLease } = backends;
  let lease: WorkerLease | null = null;
  if (config.workerId === undefined && workerLease) {
    // Another process issues ids with this worker id now: ours could collide, so stop at once.
    lease = await workerLease.lease({ log, onLost: () => process.exit(1) });
    log.info(`message ids: worker id ${lease.workerId} (leased from ${workerLease.from})`);
  }
  const workerId = config.workerId ?? lease?.workerId ?? 0;
  const server = await startServer({
    config: { ...config, workerId },
    store,
    pubsub,
    media,
    redis,
    log,
    pushSender,
    readiness: backends.readiness,
    afterDeletionStep: deletionFault(process.env),
  });
  const metricsAuth = config.metricsToken ? ' (bearer token required)' : '';
  log.info(
    server.metricsUrl
      ? `metrics: ${server.metricsUrl}${metricsAuth}`
      : config.metricsPublic
        ? `metrics: GET /metrics on the public port${metricsAuth}`
        : 'metrics: not served (NODE_ENV=production: set METRICS_PORT or METRICS_TOKEN to serve GET /metrics)',
  );
  log.info(`chat API ready: ${server.url} (subscriptions: ${server.wsUrl})`);

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info(`${signal}: shutting down`);
    try {
      await server.stop();
      log.debug('server stopped');
      await lease?.release();
      await backends.close();
      log.debug('backends closed');
      process.exit(0);
    } catch (error) {
      log.error('shutdown failed', error);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  const text =
    error instanceof ConfigError ? `configuration: ${error.message}` : String((error as Error)?.stack ?? error);
  process.stderr.write(`${text}\n`);
  process.exit(1);
});
