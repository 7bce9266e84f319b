import { Redis } from 'ioredis';
import type { Logger } from './log';

/**
 * A Redis connection for `role`. Commands fail at once while disconnected
 * instead of queueing: a send during an outage is answered promptly (the
 * message is stored; subscribers catch up when Redis is back).
 */
export async function connectRedis(url: string, role: string, log?: Logger): Promise<Redis> {
  const client = new Redis(url, {
    connectionName: `chat-api:${role}`,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
  });
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) log?.warn(`redis (${role}): ${error.message}`);
    down = true;
  });
  client.on('ready', () => {
    if (down) log?.info(`redis (${role}): connected again`);
    down = false;
  });
  await client.connect();
  return client;
}
