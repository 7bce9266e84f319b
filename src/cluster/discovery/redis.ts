import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../lib/redis';
import type { Logger } from '../../lib/log';
import type { Discovery, ServerAnnouncement } from './discovery';

/** Options of `createRedisDiscovery`. */
export interface RedisDiscoveryOptions {
  /** A registration not refreshed for this long is dead. @default 15000 */
  ttlMs?: number;
  /** Both keys' prefix; its `{...}` hash tag keeps them in one slot of a Redis Cluster. @default 'chat:{servers}:' */
  keyPrefix?: string;
  log?: Logger;
  /** @default Date.now */
  now?: () => number;
}

/**
 * Processes announce themselves in Redis: each its announcement in one hash
 * and its expiry in a sorted set, refreshed by a heartbeat (a third of the
 * TTL), so that a process that dies drops out within the TTL. Both keys share
 * one hash tag, so this works on a Redis Cluster as on one Redis. When Redis
 * cannot be asked, a process answers with its own URL rather than fail.
 */
export function createRedisDiscovery(redis: RedisClient, options: RedisDiscoveryOptions = {}): Discovery {
  const { ttlMs = 15_000, keyPrefix = 'chat:{servers}:', log, now = Date.now } = options;
  const infoKey = `${keyPrefix}info`;
  const expiryKey = `${keyPrefix}expiry`;
  let own = '';

  async function liveServers(): Promise<ServerAnnouncement[]> {
    const t = now();
    const [ids, dead] = await Promise.all([
      redis.zrangebyscore(expiryKey, t, '+inf'),
      redis.zrangebyscore(expiryKey, '-inf', `(${t}`),
    ]);
    if (dead.length > 0) {
      // Processes that died: forgotten by whoever notices first.
      void Promise.all([redis.hdel(infoKey, ...dead), redis.zrem(expiryKey, ...dead)]).catch(() => undefined);
    }
    if (ids.length === 0) return [];
    const values = await redis.hmget(infoKey, ...ids);
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
      const id = randomUUID();
      const beat = () =>
        Promise.all([
          redis.hset(infoKey, id, JSON.stringify({ url, connections: connections() } satisfies ServerAnnouncement)),
          redis.zadd(expiryKey, now() + ttlMs, id),
        ]).catch((error: Error) => log?.warn(`discovery heartbeat: ${error.message}`));
      void beat();
      const timer = setInterval(beat, Math.max(100, Math.floor(ttlMs / 3)));
      timer.unref();
      return {
        async stop() {
          clearInterval(timer);
          await Promise.all([redis.hdel(infoKey, id), redis.zrem(expiryKey, id)]).catch(() => undefined);
        },
      };
    },
  };
}
