import { randomUUID } from 'node:crypto';
import type { Logger } from '../../lib/log';
import type { RedisClient } from '../../lib/redis';
import type { PresenceRecord } from '../presence';
import type { PresenceKeys, Scripts } from './scripts';

/** How long a swept process's id is remembered, so that one coming back after a freeze knows it was declared gone. */
const BURIED_FOR_MS = 7 * 24 * 3600 * 1000;

/** What the parts of one Redis presence tracker share: its client, scripts and keys, its settings. */
export interface TrackerContext {
  redis: RedisClient;
  scripts: Scripts;
  keys: PresenceKeys;
  now: () => number;
  log?: Logger;
  /** How long a liveness entry lasts (2/3 of the timeout). */
  entryMs: number;
  buckets: number;
  sweepBatch: number;
  /** Tells `onChange` that `userId` went ONLINE or OFFLINE at `at`. */
  report: (userId: string, status: PresenceRecord['status'], at: number) => void;
}

/** Who this process is in Redis: devices are written under it, the renewal changes it, the sweep passes it by. */
export interface ProcessIdentity {
  /** This process's id in Redis; a new one once it was taken for gone. */
  instance: string;
  /** Whether Redis lists `instance` as live. */
  registered: boolean;
}

/**
 * The renewal of this process's liveness entry. `users` are those it holds;
 * `announceAll` writes every user's device again (after Redis lost them, or
 * under a new id).
 */
export function createRenewal(
  context: TrackerContext,
  self: ProcessIdentity,
  { users, announceAll }: { users: () => string[]; announceAll: () => void },
): () => Promise<void> {
  const { scripts, keys, now, log, entryMs } = context;
  const { aliveKey, buriedKey } = keys;
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
      const outcome = await scripts.chatPresenceRenew(aliveKey, buriedKey, self.instance, t + entryMs, t);
      if (outcome === 0) {
        // Swept, or being swept, as if this process had died: its users go on under a new id.
        log?.warn(
          'presence: this process was taken for gone (frozen, or cut off from Redis); announcing its users again',
        );
        self.registered = false;
        self.instance = randomUUID();
        const t2 = now();
        await scripts.chatPresenceRenew(aliveKey, buriedKey, self.instance, t2 + entryMs, t2);
        self.registered = true;
        announceAll();
        return;
      }
      if (outcome === 2 && self.registered && users().length > 0) {
        log?.warn('presence: Redis had lost this process; announcing its users again');
        announceAll();
      }
      self.registered = true;
    } catch (error) {
      log?.warn(`presence heartbeat: ${(error as Error).message}`);
    }
  }
  return renew;
}

/** Removes a dead process's devices, bucket by bucket, announcing OFFLINE the users it leaves with none. */
async function sweepProcess(context: TrackerContext, id: string, expiry: number): Promise<void> {
  const { scripts, keys, now, entryMs, buckets, sweepBatch, report } = context;
  const seen = Math.max(0, expiry - entryMs);
  await Promise.all(
    Array.from({ length: buckets }, async (_, bucket) => {
      const prefix = keys.bucketPrefix(bucket);
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
  await scripts.chatPresenceBury(keys.aliveKey, keys.buriedKey, id, now(), BURIED_FOR_MS);
}

/** The sweep of processes whose liveness entry expired, one sweep at a time (a call during one does nothing). */
export function createSweep(context: TrackerContext, self: ProcessIdentity): () => Promise<void> {
  const { redis, keys, now, log } = context;
  let sweeping = false;
  return async function sweep(): Promise<void> {
    if (sweeping) return;
    sweeping = true;
    try {
      const found = await redis.zrangebyscore(keys.aliveKey, '-inf', now(), 'WITHSCORES', 'LIMIT', 0, 10);
      for (let i = 0; i < found.length; i += 2) {
        // Its own entry, late: the next renewal finds out and starts again under a new id.
        if (found[i] !== self.instance) await sweepProcess(context, found[i]!, Number(found[i + 1]));
      }
    } catch (error) {
      log?.warn(`presence sweep: ${(error as Error).message}`);
    } finally {
      sweeping = false;
    }
  };
}
