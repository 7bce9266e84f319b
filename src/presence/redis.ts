import { randomUUID } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { groupBy } from '../lib/group';
import type { Logger } from '../lib/log';
import { createOwed } from '../lib/owed';
import type { RedisClient } from '../lib/redis';
import { createConnectionCounter, type PresenceOptions, type PresenceRecord, type PresenceTracker } from './presence';

/** Options of `createRedisPresence`. */
export interface RedisPresenceOptions extends PresenceOptions {
  /**
   * How soon after a process dies its users are OFFLINE. Each process holds a
   * liveness entry for 2/3 of it, renewed every 1/3; entries are swept every 1/6.
   * @default 30000
   */
  timeoutMs?: number;
  /**
   * Users are split into this many buckets by a hash of their id, each under a
   * hash tag of its own, so that a Redis Cluster spreads presence over its
   * masters (every script touches one bucket). The same on every process.
   * @default 16
   */
  buckets?: number;
  /** Users one sweep call takes from a dead process, in one bucket. @default 500 */
  sweepBatch?: number;
  /** All keys' prefix. @default 'chat:presence:' */
  keyPrefix?: string;
  log?: Logger;
}

/** How long a swept process's id is remembered, so that one coming back after a freeze knows it was declared gone. */
const BURIED_FOR_MS = 7 * 24 * 3600 * 1000;

const SCRIPTS = {
  // KEYS: the user's devices hash, the process's user set, the last-active hash (one bucket). ARGV: process, user, now.
  // Returns 1 when the user just became ONLINE (no other device anywhere).
  chatPresenceConnect: [
    3,
    `
local before = redis.call('HLEN', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
if before == 0 then return 1 end
return 0`,
  ],
  // Same keys and arguments. Returns 1 when that was the user's last device anywhere.
  chatPresenceDisconnect: [
    3,
    `
redis.call('SREM', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 and redis.call('HLEN', KEYS[1]) == 0 then return 1 end
return 0`,
  ],
  // KEYS: the live processes' zset, the swept ones'. ARGV: process, new expiry, now.
  // 1: renewed. 0: it had expired or was swept (others may be announcing its users OFFLINE).
  // 2: Redis did not know it (new, or Redis lost its data): registered.
  chatPresenceRenew: [
    2,
    `
local score = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
if score and score > tonumber(ARGV[3]) then redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) return 1 end
if score or redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 2`,
  ],
  // KEYS: a dead process's user set, the last-active hash (one bucket). ARGV: devices key prefix, process,
  // batch, when it was last seen. Takes a batch of its users and removes its device from each: those left
  // with none are OFFLINE, each returned once, to one caller. Returns { users left, those gone }.
  chatPresenceSweep: [
    2,
    `
local gone = {}
for _, user in ipairs(redis.call('SPOP', KEYS[1], tonumber(ARGV[3]))) do
  local devices = ARGV[1] .. user
  if redis.call('HDEL', devices, ARGV[2]) == 1 and redis.call('HLEN', devices) == 0 then
    redis.call('HSET', KEYS[2], user, ARGV[4])
    table.insert(gone, user)
  end
end
return { redis.call('SCARD', KEYS[1]), gone }`,
  ],
  // KEYS: the live processes' zset, the swept ones'. ARGV: process, now, how long to remember.
  chatPresenceBury: [
    2,
    `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[3]))
return 1`,
  ],
} satisfies Record<string, [keys: number, lua: string]>;
/** Each script as ioredis defines it: its keys, then its arguments. */
type Scripts = { [name in keyof typeof SCRIPTS]: (...keysThenArgs: (string | number)[]) => Promise<unknown> };

/**
 * Presence shared through Redis by every server process. What a process
 * renews is its own liveness, one entry however many users it holds; each
 * connected user has a device entry per process, written when the device
 * connects and removed when it leaves, and a process's users are listed in a
 * set of its own. When a process stops renewing, the sweep of a surviving
 * process (Lua scripts, so that exactly one process wins each user) removes
 * its devices and announces OFFLINE those left with none. ONLINE and OFFLINE
 * transitions are decided atomically in Redis too, so each is reported once,
 * by the process that caused it. A process that was frozen past the timeout
 * learns at its next renewal that it was swept, and announces its users again
 * under a new id.
 */
export function createRedisPresence(redis: RedisClient, options: RedisPresenceOptions): PresenceTracker {
  const { timeoutMs = 30_000, buckets = 16, sweepBatch = 500, keyPrefix = 'chat:presence:', log, onChange } = options;
  const now = options.now ?? Date.now;
  for (const [name, [numberOfKeys, lua]] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys, lua });
  const scripts = redis as unknown as Scripts;
  const entryMs = Math.floor((timeoutMs * 2) / 3);
  const processes = `${keyPrefix}{presence}:`;
  const [aliveKey, buriedKey] = [`${processes}alive`, `${processes}buried`];
  const bucketPrefix = (bucket: number) => `${keyPrefix}{presence:${bucket}}:`;
  const bucketOf = (userId: string) => calculateSlot(userId) % buckets;
  const userKeys = (id: string, userId: string) => {
    const prefix = bucketPrefix(bucketOf(userId));
    return [`${prefix}devices:${userId}`, `${prefix}of:${id}`, `${prefix}last`];
  };
  const report = (userId: string, status: PresenceRecord['status'], at: number) =>
    onChange({ userId, status, lastActiveAt: new Date(at) });
  let instance = randomUUID();

  /** Writes this process's device of `userId`, or removes it, whichever its connections say now. */
  async function apply(userId: string): Promise<void> {
    // Never a device under an id that Redis does not list as live: nobody would sweep it, were this process to die.
    if (!registered) await renew();
    if (!registered) throw new Error('this process is not registered in Redis yet');
    const id = instance;
    const t = now();
    const online = counter.has(userId);
    const script = online ? 'chatPresenceConnect' : 'chatPresenceDisconnect';
    if ((await scripts[script](...userKeys(id, userId), id, userId, t)) === 1)
      report(userId, online ? 'ONLINE' : 'OFFLINE', t);
    // The id changed meanwhile: what was just written under the old one is the new one's to say.
    if (id !== instance && online) await scripts.chatPresenceDisconnect(...userKeys(id, userId), id, userId, t);
  }
  const owed = createOwed(
    async (users) => {
      const outcomes = await Promise.allSettled(users.map(apply));
      return users.filter((_, i) => outcomes[i]!.status === 'rejected');
    },
    { maxDelayMs: Math.max(100, Math.floor(timeoutMs / 3)) },
  );
  /** `apply`, and while Redis cannot be told, again in the background until it can. */
  async function update(userId: string): Promise<void> {
    try {
      await apply(userId);
    } catch (error) {
      log?.warn(`presence: ${(error as Error).message}`);
      owed.add([userId]);
    }
  }
  const counter = createConnectionCounter(options, { online: update, offline: update });

  /** Writes every user's device again (after Redis lost them, or under a new id). */
  function announceAll(): void {
    owed.add(counter.users());
  }

  /** Whether Redis lists `instance` as live. */
  let registered = false;
  let renewal: Promise<void> | null = null;
  /** Renews this process's liveness entry, one renewal at a time: a caller during one waits for it. */
  function renew(): Promise<void> {
    renewal ??= renewOnce().finally(() => {
      renewal = null;
    });
    return renewal;
  }
  async function renewOnce(): Promise<void> {
    try {
      const t = now();
      const outcome = await scripts.chatPresenceRenew(aliveKey, buriedKey, instance, t + entryMs, t);
      if (outcome === 0) {
        // Swept, or being swept, as if this process had died: its users go on under a new id.
        log?.warn(
          'presence: this process was taken for gone (frozen, or cut off from Redis); announcing its users again',
        );
        registered = false;
        instance = randomUUID();
        const t2 = now();
        await scripts.chatPresenceRenew(aliveKey, buriedKey, instance, t2 + entryMs, t2);
        registered = true;
        announceAll();
        return;
      }
      if (outcome === 2 && registered && counter.users().length > 0) {
        log?.warn('presence: Redis had lost this process; announcing its users again');
        announceAll();
      }
      registered = true;
    } catch (error) {
      log?.warn(`presence heartbeat: ${(error as Error).message}`);
    }
  }

  /** Removes a dead process's devices, bucket by bucket, announcing OFFLINE the users it leaves with none. */
  async function sweepProcess(id: string, expiry: number): Promise<void> {
    const seen = Math.max(0, expiry - entryMs);
    await Promise.all(
      Array.from({ length: buckets }, async (_, bucket) => {
        const prefix = bucketPrefix(bucket);
        for (;;) {
          const [left, gone] = (await scripts.chatPresenceSweep(
            `${prefix}of:${id}`,
            `${prefix}last`,
            `${prefix}devices:`,
            id,
            sweepBatch,
            seen,
          )) as [number, string[]];
          for (const userId of gone) report(userId, 'OFFLINE', seen);
          if (left === 0) return;
        }
      }),
    );
    await scripts.chatPresenceBury(aliveKey, buriedKey, id, now(), BURIED_FOR_MS);
  }
  let sweeping = false;
  async function sweep(): Promise<void> {
    if (sweeping) return;
    sweeping = true;
    try {
      const found = await redis.zrangebyscore(aliveKey, '-inf', now(), 'WITHSCORES', 'LIMIT', 0, 10);
      for (let i = 0; i < found.length; i += 2) {
        // Its own entry, late: the next renewal finds out and starts again under a new id.
        if (found[i] !== instance) await sweepProcess(found[i]!, Number(found[i + 1]));
      }
    } catch (error) {
      log?.warn(`presence sweep: ${(error as Error).message}`);
    } finally {
      sweeping = false;
    }
  }

  void renew();
  const heartbeat = setInterval(() => void renew(), Math.floor(timeoutMs / 3));
  const sweeper = setInterval(() => void sweep(), Math.max(50, Math.floor(timeoutMs / 6)));
  heartbeat.unref();
  sweeper.unref();

  return {
    connected: counter.connected,
    disconnected: counter.disconnected,
    async get(userIds) {
      if (userIds.length === 0) return [];
      // On a cluster one pipeline per bucket (a pipeline's keys must share a node); on one Redis, one in all.
      const bucketsOf = userIds.map(bucketOf);
      const sharded = redis instanceof Cluster;
      const groups = groupBy(userIds.keys(), (i) => (sharded ? bucketsOf[i] : 0));
      const answers: { devices: number; last: string | null }[] = new Array(userIds.length);
      await Promise.all(
        [...groups.values()].map(async (indexes) => {
          const pipeline = redis.pipeline();
          for (const i of indexes) {
            const prefix = bucketPrefix(bucketsOf[i]!);
            pipeline.hlen(`${prefix}devices:${userIds[i]}`).hget(`${prefix}last`, userIds[i]!);
          }
          const results = (await pipeline.exec()) ?? [];
          indexes.forEach((i, j) => {
            const [lenError, devices] = results[2 * j] ?? [];
            const [lastError, last] = results[2 * j + 1] ?? [];
            const failed = lenError ?? lastError;
            if (failed) throw failed;
            answers[i] = { devices: Number(devices), last: last as string | null };
          });
        }),
      );
      const t = now();
      return userIds.map((userId, i) => {
        const { devices, last } = answers[i]!;
        const online = devices > 0;
        return {
          userId,
          status: online ? 'ONLINE' : 'OFFLINE',
          lastActiveAt: online ? new Date(t) : last === null ? null : new Date(Number(last)),
        };
      });
    },
    async close() {
      clearInterval(heartbeat);
      clearInterval(sweeper);
      owed.close();
      // Its devices stay until its liveness entry expires and another process sweeps them.
      counter.close();
    },
  };
}
