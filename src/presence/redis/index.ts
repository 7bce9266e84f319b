import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { groupBy } from '../../lib/group';
import type { Logger } from '../../lib/log';
import { createOwed } from '../../lib/owed';
import type { RedisClient } from '../../lib/redis';
import { createConnectionCounter, type PresenceOptions, type PresenceRecord, type PresenceTracker } from '../presence';
import { createRenewal, createSweep, type ProcessIdentity, type TrackerContext } from './liveness';
import { defineScripts, presenceKeys } from './scripts';

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
  const scripts = defineScripts(redis);
  const entryMs = Math.floor((timeoutMs * 2) / 3);
  const keys = presenceKeys(keyPrefix, buckets);
  const report = (userId: string, status: PresenceRecord['status'], at: number) =>
    onChange({ userId, status, lastActiveAt: new Date(at) });
  const context: TrackerContext = { redis, scripts, keys, now, log, entryMs, buckets, sweepBatch, report };
  const self: ProcessIdentity = { instance: randomUUID(), registered: false };

  /** Writes this process's device of `userId`, or removes it, whichever its connections say now. */
  async function apply(userId: string): Promise<void> {
    // Never a device under an id that Redis does not list as live: nobody would sweep it, were this process to die.
    if (!self.registered) await renew();
    if (!self.registered) throw new Error('this process is not registered in Redis yet');
    const id = self.instance;
    const t = now();
    const online = counter.has(userId);
    const script = online ? 'chatPresenceConnect' : 'chatPresenceDisconnect';
    if ((await scripts[script](...keys.userKeys(id, userId), id, userId, t)) === 1)
      report(userId, online ? 'ONLINE' : 'OFFLINE', t);
    // The id changed meanwhile: what was just written under the old one is the new one's to say.
    if (id !== self.instance && online)
      await scripts.chatPresenceDisconnect(...keys.userKeys(id, userId), id, userId, t);
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

  const renew = createRenewal(context, self, { users: counter.users, announceAll });
  const sweep = createSweep(context, self);

  void renew();
  const heartbeat = setInterval(() => void renew(), Math.floor(timeoutMs / 3));
  const sweeper = setInterval(() => void sweep(), Math.max(50, Math.floor(timeoutMs / 6)));
  heartbeat.unref();
  sweeper.unref();

  return {
    connected: counter.connected,
    disconnected: counter.disconnected,
    get: (userIds) => readPresence(context, userIds),
    async close() {
      clearInterval(heartbeat);
      clearInterval(sweeper);
      owed.close();
      // Its devices stay until its liveness entry expires and another process sweeps them.
      counter.close();
    },
  };
}

/** What Redis says of each of `userIds`, in order: ONLINE while any process holds a device of theirs. */
async function readPresence(
  { redis, keys, now }: TrackerContext,
  userIds: readonly string[],
): Promise<PresenceRecord[]> {
  if (userIds.length === 0) return [];
  // On a cluster one pipeline per bucket (a pipeline's keys must share a node); on one Redis, one in all.
  const bucketsOf = userIds.map(keys.bucketOf);
  const sharded = redis instanceof Cluster;
  const groups = groupBy(userIds.keys(), (i) => (sharded ? bucketsOf[i] : 0));
  const answers: { devices: number; last: string | null }[] = new Array(userIds.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const pipeline = redis.pipeline();
      for (const i of indexes) {
        const prefix = keys.bucketPrefix(bucketsOf[i]!);
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
}
