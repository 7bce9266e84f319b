import calculateSlot from 'cluster-key-slot';
import type { RedisClient } from '../../lib/redis';

/**
 * Where presence lives in Redis, under `keyPrefix`: the processes' zsets
 * under one hash tag, and each user's keys in one of `buckets` buckets, each
 * under a hash tag of its own.
 */
export function presenceKeys(keyPrefix: string, buckets: number) {
  const processes = `${keyPrefix}{presence}:`;
  const [aliveKey, buriedKey] = [`${processes}alive`, `${processes}buried`];
  const bucketPrefix = (bucket: number) => `${keyPrefix}{presence:${bucket}}:`;
  const bucketOf = (userId: string) => calculateSlot(userId) % buckets;
  const userKeys = (id: string, userId: string) => {
    const prefix = bucketPrefix(bucketOf(userId));
    return [`${prefix}devices:${userId}`, `${prefix}of:${id}`, `${prefix}last`];
  };
  return { aliveKey, buriedKey, bucketPrefix, bucketOf, userKeys };
}
/** The keys of one tracker (`presenceKeys`). */
export type PresenceKeys = ReturnType<typeof presenceKeys>;

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
export type Scripts = { [name in keyof typeof SCRIPTS]: (...keysThenArgs: (string | number)[]) => Promise<unknown> };

/** Defines the scripts on `redis` (as ioredis commands) and hands it back typed as them. */
export function defineScripts(redis: RedisClient): Scripts {
  for (const [name, [numberOfKeys, lua]] of Object.entries(SCRIPTS)) redis.defineCommand(name, { numberOfKeys, lua });
  return redis as unknown as Scripts;
}
