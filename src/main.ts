/**
 * The composition root and the only reader of process.env: configuration,
 * then the store and pub/sub backends, then the server, then signals.
 */
import { openBackends } from './backends';
import { cert, initializeApp, type ServiceAccount } from 'firebase-admin/app';
import { getMessaging } from 'firebase-admin/messaging';
import { loadConfig, ConfigError, type Config } from './config';
import { createRedisDiscovery } from './discovery';
import { createLogger, type Logger } from './log';
import { createFcmSender, type PushSender } from './push';
import type { PresenceOptions } from './presence';
import { createRedisPresence } from './presenceRedis';
import { leaseWorkerId, type WorkerLease } from './workerLease';
import { startServer } from './server';

/** FCM through firebase-admin when credentials are configured; else push is off, said once. */
function createPushSender(config: Config, log: Logger): PushSender | null {
  const credentials = config.pushCredentials;
  if (!credentials) {
    log.info('push: off (set GOOGLE_APPLICATION_CREDENTIALS or FIREBASE_SERVICE_ACCOUNT to send notifications)');
    return null;
  }
  const app = initializeApp({ credential: 'file' in credentials ? cert(credentials.file) : cert(credentials.serviceAccount as ServiceAccount) });
  log.info('push: on (Firebase Cloud Messaging)');
  return createFcmSender(getMessaging(app));
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel);
  if (config.jwtSecretGenerated) {
    log.warn('JWT_SECRET is not set: using a random secret, so tokens stop working when this process exits');
  }
  const backends = await openBackends(config, log);
  const { store, pubsub, redis } = backends;
  let lease: WorkerLease | null = null;
  if (config.workerId === undefined && redis) {
    lease = await leaseWorkerId(redis, {
      log,
      // Another process issues ids with this worker id now: ours could collide, so stop at once.
      onLost: () => process.exit(1),
    });
    log.info(`message ids: worker id ${lease.workerId} (leased from Redis)`);
  }
  const workerId = config.workerId ?? lease?.workerId ?? 0;
  const discovery = redis ? createRedisDiscovery(redis, { ttlMs: config.discoveryTtlMs, log }) : undefined;
  const presence = redis
    ? (options: PresenceOptions) => createRedisPresence(redis, { ...options, timeoutMs: config.presenceTimeoutMs, log })
    : undefined;
  const pushSender = createPushSender(config, log);
  const server = await startServer({ config: { ...config, workerId }, store, pubsub, log, discovery, presence, pushSender });
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
