/**
 * Expiring flags per key, raised and lowered atomically: in this process's
 * memory, or shared by every process through Redis.
 */
import { LRUCache } from 'lru-cache';
import type { RedisClient } from './redis';

/** A flag per key that lowers itself after a while. */
export interface Flags {
  /** Raises `key`'s flag for `ttlMs` (again, if it was up). */
  raise(key: string, ttlMs: number): Promise<void>;
  /** Lowers `key`'s flag: true when it was up, for exactly one of several callers. */
  lower(key: string): Promise<boolean>;
}

/** Options of the Flags factories. */
export interface FlagsOptions {
  /** Distinguishes these flags' keys from others' in a shared store. */
  name: string;
  /** Flags kept in memory at most; the least recently raised go first. @default 100000 */
  maxKeys?: number;
}

/** Flags within this process, at most `maxKeys` of them. */
export function createMemoryFlags({ maxKeys = 100_000 }: FlagsOptions): Flags {
  const up = new LRUCache<string, true>({ max: maxKeys, ttlAutopurge: false });
  return {
    async raise(key, ttlMs) {
      up.set(key, true, { ttl: ttlMs });
    },
    async lower(key) {
      // `has` honours the flag's expiry.
      const was = up.has(key);
      up.delete(key);
      return was;
    },
  };
}

/** Flags shared through Redis: one key each, expiring in Redis. */
export function createRedisFlags(redis: RedisClient, { name }: FlagsOptions): Flags {
  const keyOf = (key: string) => `chat:flags:${name}:${key}`;
  return {
    async raise(key, ttlMs) {
      await redis.set(keyOf(key), '1', 'PX', ttlMs);
    },
    async lower(key) {
      return (await redis.del(keyOf(key))) === 1;
    },
  };
}
