import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/log';
import type { Discovery, ServerAnnouncement } from './discovery';

/** Options of `createRedisDiscovery`. */
export interface RedisDiscoveryOptions {
  /** A registration not refreshed for this long is dead. @default 15000 */
  ttlMs?: number;
  /** @default 'chat:servers:' */
  keyPrefix?: string;
  log?: Logger;
}

/**
 * Processes announce themselves in Redis, each under its own key with a TTL
 * refreshed by a heartbeat (a third of the TTL), so that a process that dies
 * drops out within the TTL. When Redis cannot be asked, a process answers with
 * its own URL rather than fail.
 */
export function createRedisDiscovery(redis: Redis, options: RedisDiscoveryOptions = {}): Discovery {
  const { ttlMs = 15_000, keyPrefix = 'chat:servers:', log } = options;
  let own = '';

  async function liveServers(): Promise<ServerAnnouncement[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 200);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0');
    if (keys.length === 0) return [];
    const values = await redis.mget(...keys);
    return values.flatMap((v) => {
      try {
        const parsed = v === null ? null : (JSON.parse(v) as ServerAnnouncement);
        return parsed && typeof parsed.url === 'string' && typeof parsed.connections === 'number' ? [parsed] : [];
      } catch {
        return [];
      }
    });
  }

  return {
    async leastLoaded() {
      try {
        const servers = await liveServers();
        // Ties go to the lower URL, so that every process gives the same answer.
        servers.sort((a, b) => a.connections - b.connections || (a.url < b.url ? -1 : 1));
        return servers[0]?.url ?? own;
      } catch (error) {
        log?.warn(`discovery: ${(error as Error).message}; answering with this server`);
        return own;
      }
    },
    register(url, connections) {
      own = url;
      const key = `${keyPrefix}${randomUUID()}`;
      const beat = () =>
        redis
          .set(key, JSON.stringify({ url, connections: connections() } satisfies ServerAnnouncement), 'PX', ttlMs)
          .catch((error: Error) => log?.warn(`discovery heartbeat: ${error.message}`));
      void beat();
      const timer = setInterval(beat, Math.max(100, Math.floor(ttlMs / 3)));
      timer.unref();
      return {
        async stop() {
          clearInterval(timer);
          await redis.del(key).catch(() => undefined);
        },
      };
    },
  };
}
