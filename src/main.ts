/**
 * The composition root and the only reader of process.env: configuration,
 * then the store and pub/sub backends, then the server, then signals.
 */
import { openBackends } from './backends';
import { loadConfig, ConfigError } from './config';
import { createLogger } from './log';
import { startServer } from './server';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel);
  if (config.jwtSecretGenerated) {
    log.warn('JWT_SECRET is not set: using a random secret, so tokens stop working when this process exits');
  }
  const backends = await openBackends(config, log);
  const { store, pubsub } = backends;
  const server = await startServer({ config, store, pubsub, log });
  log.info(`chat API ready: ${server.url} (subscriptions: ${server.wsUrl})`);

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info(`${signal}: shutting down`);
    try {
      await server.stop();
      await backends.close();
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
