/**
 * The composition root and the only reader of process.env: configuration,
 * then the store and pub/sub backends, then the server, then signals.
 */
import { openBackends } from './backends';
import { loadConfig, ConfigError } from './config';
import { createRedisDiscovery } from './discovery';
import { createLogger } from './log';
import type { PresenceOptions } from './presence';
import { createRedisPresence } from './presenceRedis';
import { leaseWorkerId, type WorkerLease } from './workerLease';
import { startServer } from './server';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel);
  if (config.jwtSecretGenerated) {
    log.warn('JWT_SECRET is not set: using a random secret, so tokens stop working when this process exits');
  }
  const backends = await openBackends(config, log);
  const { store, pubsub } = backends;
  let lease: WorkerLease | null = null;
  if (config.workerId === undefined && backends.redis) {
    lease = await leaseWorkerId(backends.redis, {
      log,
      // Another process issues ids with this worker id now: ours could collide, so stop at once.
      onLost: () => process.exit(1),
    });
    log.info(`message ids: worker id ${lease.workerId} (leased from Redis)`);
  }
  const workerId = config.workerId ?? lease?.workerId ?? 0;
  const discovery = backends.redis ? createRedisDiscovery(backends.redis, { ttlMs: config.discoveryTtlMs, log }) : undefined;
  const redis = backends.redis;
  const presence = redis
    ? (options: PresenceOptions) => createRedisPresence(redis, { ...options, timeoutMs: config.presenceTimeoutMs, log })
    : undefined;
  const server = await startServer({ config: { ...config, workerId }, store, pubsub, log, discovery, presence });
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
  process.stderr.write(`${error instanceof ConfigError ? `configuration: ${error.message}` : String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
