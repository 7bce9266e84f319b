import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../lib/redis';
import { leaseFirstFree, type WorkerLease, type WorkerLeaseOptions } from './lease';

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
 * stops renewing and its id is free again after the TTL.
 */
export function leaseWorkerId(
  redis: RedisClient,
  options: WorkerLeaseOptions & { /** @default 'chat:worker:' */ keyPrefix?: string },
): Promise<WorkerLease> {
  const { ttlMs = 30_000, keyPrefix = 'chat:worker:' } = options;
  const owner = randomUUID();
  const key = (workerId: number) => `${keyPrefix}${workerId}`;
  return leaseFirstFree(
    {
      take: async (workerId) => (await redis.set(key(workerId), owner, 'PX', ttlMs, 'NX')) === 'OK',
      renew: async (workerId) => (await redis.eval(RENEW, 1, key(workerId), owner, ttlMs)) !== -1,
      release: async (workerId) => void (await redis.eval(RELEASE, 1, key(workerId), owner)),
    },
    options,
  );
}
