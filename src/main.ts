/**
 * The composition root and the only reader of process.env: configuration,
 * then the store and pub/sub backends, then the server, then signals.
 */
import { loadConfig, ConfigError, type Config } from './config';
import { createLogger, type Logger } from './log';
import { createMemoryPubSub } from './pubsub/memory';
import type { PubSub } from './pubsub/pubsub';
import { startServer } from './server';
import { createMemoryStore } from './store/memory';
import type { Store } from './store/store';

async function openBackends(config: Config, log: Logger): Promise<{ store: Store; pubsub: PubSub }> {
  if (config.mongodbUri || config.redisUrl) {
    throw new ConfigError('MONGODB_URI and REDIS_URL are not supported by this version yet; unset them to run on the embedded default');
  }
  log.info('store: in-memory (embedded default; data is lost on exit); pub/sub: in-process (single process)');
  return { store: createMemoryStore(), pubsub: createMemoryPubSub() };
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel);
  if (config.jwtSecretGenerated) {
    log.warn('JWT_SECRET is not set: using a random secret, so tokens stop working when this process exits');
  }
  const { store, pubsub } = await openBackends(config, log);
  const server = await startServer({ config, store, pubsub, log });
  log.info(`chat API ready: ${server.url} (subscriptions: ${server.wsUrl})`);

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info(`${signal}: shutting down`);
    try {
      await server.stop();
      await pubsub.close();
      await store.close();
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
