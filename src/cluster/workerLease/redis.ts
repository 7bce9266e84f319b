import { randomInt, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { WorkerLease, WorkerLeaseOptions } from './lease';
import { MAX_WORKER_ID } from '../ids';

/** Extends the lease only if this process still holds it; re-takes it if it expired unclaimed. */
const RENEW = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not holder then return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) and 1 or 0 end
return -1`;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Takes a free worker id (0 to 1023) with SET NX and a TTL, starting from a
 * random one, and renews it while the process lives. A process that dies
 * stops renewing and its id is free again after the TTL. Fails when all 1024
 * are held.
 */
export async function leaseWorkerId(
  redis: Redis,
  options: WorkerLeaseOptions & { /** @default 'chat:worker:' */ keyPrefix?: string },
): Promise<WorkerLease> {
  const { ttlMs = 30_000, onLost, log, keyPrefix = 'chat:worker:' } = options;
  const renewMs = options.renewMs ?? Math.floor(ttlMs / 3);
  const owner = randomUUID();
  const start = options.startAt ?? randomInt(MAX_WORKER_ID + 1);
  for (let i = 0; i <= MAX_WORKER_ID; i++) {
    const workerId = (start + i) % (MAX_WORKER_ID + 1);
    const key = `${keyPrefix}${workerId}`;
    if ((await redis.set(key, owner, 'PX', ttlMs, 'NX')) !== 'OK') continue;
    const timer = setInterval(() => {
      redis.eval(RENEW, 1, key, owner, ttlMs).then(
        (result) => {
          if (result !== -1) return;
          clearInterval(timer);
          log?.error(`worker id ${workerId} was taken by another process`);
          onLost(workerId);
        },
        // Redis unreachable: keep trying; the id is still ours until the TTL runs out unclaimed.
        (error: Error) => log?.warn(`worker id ${workerId}: renewal failed: ${error.message}`),
      );
    }, renewMs);
    timer.unref();
    return {
      workerId,
      async release() {
        clearInterval(timer);
        await redis.eval(RELEASE, 1, key, owner).catch(() => undefined);
      },
    };
  }
  throw new Error(`no free worker id: all ${MAX_WORKER_ID + 1} are leased`);
}
