/**
 * Slots: how many holders a key has at once (connections of a user, of an
 * address), counted in this process's memory or across every process through
 * Redis, with a bound checked and taken atomically.
 */
import { randomUUID } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import type { Logger } from './log';
import type { RedisClient } from './redis';

/** Gives a slot back; calling it again does nothing. */
export type Release = () => void;

/** Counted holders per key, each key with a bound given at acquisition. */
export interface Slots {
  /** Takes one of the `max` slots of `key`: its release, or null when all are held. Never fails. */
  acquire(key: string, max: number): Promise<Release | null>;
  /** Stops the background renewal; slots still held are left to expire with this process's entry. */
  close(): Promise<void>;
}

/** Slots within this process. */
export function createMemorySlots(): Slots {
  const held = new Map<string, number>();
  return {
    async acquire(key, max) {
      const count = held.get(key) ?? 0;
      if (count >= max) return null;
      held.set(key, count + 1);
      // One closure, not once() around another: every idle connection holds three of these.
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (held.get(key) ?? 1) - 1;
        if (left > 0) held.set(key, left);
        else held.delete(key);
      };
    },
    async close() {},
  };
}

/** Options of `createRedisSlots`. */
export interface RedisSlotsOptions {
  /** Distinguishes these slots' keys from other sets of slots in the same Redis. */
  name: string;
  /**
   * How long after this process stops renewing its entry other processes stop
   * counting its holders (it renews every third of this). @default 30000
   */
  timeoutMs?: number;
  /** Keys are spread over this many hash tags, so that a Redis Cluster shares the work. @default 16 */
  buckets?: number;
  log?: Logger;
  /** @default Date.now */
  now?: () => number;
}

const SCRIPTS = {
  // KEYS: the key's holders hash (field: process, value: its holders), the bucket's live processes (zset of
  // process → expiry). ARGV: process, now, max, how long the hash outlives its last acquisition.
  // Processes whose entry expired are forgotten; returns 1 and counts one more holder when one is free.
  chatSlotsAcquire: [
    2,
    `
local total = 0
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local expiry = tonumber(redis.call('ZSCORE', KEYS[2], entries[i]))
  if entries[i] ~= ARGV[1] and (not expiry or expiry < tonumber(ARGV[2])) then
    redis.call('HDEL', KEYS[1], entries[i])
  else
    total = total + tonumber(entries[i + 1])
  end
end
if total >= tonumber(ARGV[3]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`,
  ],
  // KEYS: the holders hash. ARGV: process, its holders of this key (after a failed release: what it really holds).
  chatSlotsSet: [
    1,
    `
if tonumber(ARGV[2]) > 0 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) else redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1`,
  ],
  // KEYS: the holders hash. ARGV: process.
  chatSlotsRelease: [
    1,
    `
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1`,
  ],
} satisfies Record<string, [keys: number, lua: string]>;
type Scripts = { [name in keyof typeof SCRIPTS]: (...keysThenArgs: (string | number)[]) => Promise<unknown> };

/** A key's holders hash outlives its last acquisition by this long (a process renews nothing per key). */
const HOLDERS_TTL_MS = 24 * 3600 * 1000;

/**
 * Slots shared by every process through Redis. Each key is a hash of holders
 * per process; each process renews one liveness entry per bucket, and an
 * acquisition no longer counts the holders of processes whose entry expired
 * (they died with their connections). While Redis cannot be reached, slots are
 * counted in this process alone, so that an outage neither refuses everyone
 * nor lifts the bound; a release that could not reach Redis is written again
 * at the next renewal.
 */
export function createRedisSlots(redis: RedisClient, options: RedisSlotsOptions): Slots {
  const { name, timeoutMs = 30_000, buckets = 16, log } = options;
  const now = options.now ?? Date.now;
  for (const [command, [numberOfKeys, lua]] of Object.entries(SCRIPTS))
    redis.defineCommand(command, { numberOfKeys, lua });
  const scripts = redis as unknown as Scripts;
  const me = randomUUID();
  const prefix = (bucket: number) => `chat:slots:${name}:{slots:${bucket}}:`;
  const keysOf = (key: string) => {
    const p = prefix(calculateSlot(key) % buckets);
    return { holders: `${p}${key}`, alive: `${p}alive` };
  };
  /** Holders counted in Redis, by key; and keys whose count in Redis may be wrong since a release failed. */
  const held = new Map<string, number>();
  const stale = new Set<string>();
  const local = createMemorySlots();
  const bump = (key: string, by: number) => {
    const count = (held.get(key) ?? 0) + by;
    if (count > 0) held.set(key, count);
    else held.delete(key);
  };

  /** Whether this process's entries are live in Redis: others count its holders only then. */
  let registered = false;
  let renewedAt = -Infinity;
  async function renew(): Promise<void> {
    const t = now();
    // Expired entries of other processes go too: an acquisition treats a missing entry as an expired one.
    await Promise.all(
      Array.from({ length: buckets }, (_, b) =>
        Promise.all([
          redis.zadd(`${prefix(b)}alive`, t + timeoutMs, me),
          redis.zremrangebyscore(`${prefix(b)}alive`, '-inf', t),
        ]),
      ),
    );
    // Unrenewed for too long, others may have forgotten this process's holders: write each count again.
    if (t - renewedAt > timeoutMs) for (const key of held.keys()) stale.add(key);
    [registered, renewedAt] = [true, t];
    for (const key of [...stale]) {
      await scripts.chatSlotsSet(keysOf(key).holders, me, held.get(key) ?? 0);
      stale.delete(key);
    }
  }
  let renewal: Promise<void> = Promise.resolve();
  const tick = () => {
    renewal = renew().catch((error: unknown) => log?.warn(`slots ${name}: renewal failed`, error));
  };
  tick();
  const timer = setInterval(tick, Math.max(100, Math.floor(timeoutMs / 3)));
  timer.unref();

  return {
    async acquire(key, max) {
      let taken: boolean;
      try {
        if (!registered) await renew();
        const { holders, alive } = keysOf(key);
        taken = (await scripts.chatSlotsAcquire(holders, alive, me, now(), max, HOLDERS_TTL_MS)) === 1;
      } catch (error) {
        log?.warn(`slots ${name}: Redis unreachable, counting in this process alone`, error);
        return local.acquire(key, max);
      }
      if (!taken) return null;
      bump(key, 1);
      return once(() => {
        bump(key, -1);
        scripts.chatSlotsRelease(keysOf(key).holders, me).catch(() => stale.add(key));
      });
    },
    async close() {
      clearInterval(timer);
      await renewal;
    },
  };
}

/** `fn`, callable once. */
function once(fn: () => void): Release {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
