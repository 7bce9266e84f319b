import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../lib/redis';
import type { Logger } from '../lib/log';
import { createConnectionCounter, type PresenceOptions, type PresenceRecord, type PresenceTracker } from './presence';

/** Options of `createRedisPresence`. */
export interface RedisPresenceOptions extends PresenceOptions {
  /**
   * How soon after a process dies its users are OFFLINE. Devices are
   * announced for 2/3 of it, renewed every 1/3, and swept every 1/6.
   * @default 30000
   */
  timeoutMs?: number;
  /** All keys' prefix; its `{...}` hash tag keeps them in one slot of a Redis Cluster (the scripts need that). @default 'chat:presence:{presence}:' */
  keyPrefix?: string;
  log?: Logger;
}

// KEYS: devices hash of the user, online zset, last-active hash. ARGV: process, user, expiry, now.
// Returns 1 when the user just became ONLINE (nobody else had a live device).
const CONNECT = `
local was = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[2]))
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
if was and was > tonumber(ARGV[4]) then return 0 end
return 1`;

// Same keys; removes this process's device entry. Returns 1 when that left the user with none.
const DISCONNECT = `
redis.call('HDEL', KEYS[1], ARGV[1])
local now = tonumber(ARGV[4])
local best = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local expiry = tonumber(fields[i + 1])
  if expiry > now then best = math.max(best, expiry) else redis.call('HDEL', KEYS[1], fields[i]) end
end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
if best > 0 then redis.call('ZADD', KEYS[2], best, ARGV[2]) return 0 end
return redis.call('ZREM', KEYS[2], ARGV[2])`;

// KEYS: online zset, last-active hash. ARGV: devices key prefix, now, limit, announce window.
// Users whose every device entry expired leave the zset; each is returned once, to one caller.
const SWEEP = `
local now = tonumber(ARGV[2])
local gone = {}
for _, user in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))) do
  local devices = ARGV[1] .. user
  local best, last = 0, 0
  local fields = redis.call('HGETALL', devices)
  for i = 1, #fields, 2 do
    local expiry = tonumber(fields[i + 1])
    if expiry > now then best = math.max(best, expiry) else last = math.max(last, expiry); redis.call('HDEL', devices, fields[i]) end
  end
  if best > 0 then
    redis.call('ZADD', KEYS[1], best, user)
  elseif redis.call('ZREM', KEYS[1], user) == 1 then
    local seen = math.max(0, last - tonumber(ARGV[4]))
    redis.call('HSET', KEYS[2], user, seen)
    table.insert(gone, user)
    table.insert(gone, seen)
  end
end
return gone`;

/**
 * Presence shared through Redis by every server process. Each process keeps
 * its own device entry per connected user, renewed by a heartbeat; a process
 * that dies stops renewing, and the sweep of a surviving process (a Lua
 * script, so that exactly one process wins each user) announces its users
 * OFFLINE. ONLINE and OFFLINE transitions are decided atomically in Redis too,
 * so each is reported once, by the process that caused it.
 */
export function createRedisPresence(redis: RedisClient, options: RedisPresenceOptions): PresenceTracker {
  const { timeoutMs = 30_000, keyPrefix = 'chat:presence:{presence}:', log, onChange } = options;
  const now = options.now ?? Date.now;
  const instance = randomUUID();
  const devicesPrefix = `${keyPrefix}devices:`;
  const onlineKey = `${keyPrefix}online`;
  const lastKey = `${keyPrefix}last`;
  const entryMs = Math.floor((timeoutMs * 2) / 3);
  const keys = (userId: string) => [`${devicesPrefix}${userId}`, onlineKey, lastKey];
  const report = (userId: string, status: PresenceRecord['status'], at: number) =>
    onChange({ userId, status, lastActiveAt: new Date(at) });

  const counter = createConnectionCounter(options, {
    async online(userId) {
      const t = now();
      if ((await redis.eval(CONNECT, 3, ...keys(userId), instance, userId, t + entryMs, t)) === 1)
        report(userId, 'ONLINE', t);
    },
    async offline(userId) {
      const t = now();
      try {
        if ((await redis.eval(DISCONNECT, 3, ...keys(userId), instance, userId, 0, t)) === 1)
          report(userId, 'OFFLINE', t);
      } catch (error) {
        // Redis unreachable: the entry expires by itself and a sweep announces it.
        log?.warn(`presence: ${(error as Error).message}`);
      }
    },
  });

  const heartbeat = setInterval(
    () => {
      const users = counter.users();
      if (users.length === 0) return;
      const expiry = now() + entryMs;
      const pipeline = redis.pipeline();
      for (const userId of users) {
        pipeline.hset(`${devicesPrefix}${userId}`, instance, expiry);
        pipeline.zadd(onlineKey, 'GT', expiry, userId);
      }
      pipeline.exec().catch((error: Error) => log?.warn(`presence heartbeat: ${error.message}`));
    },
    Math.floor(timeoutMs / 3),
  );
  const sweep = setInterval(
    () => {
      redis.eval(SWEEP, 2, onlineKey, lastKey, devicesPrefix, now(), 100, entryMs).then(
        (gone) => {
          const list = gone as (string | number)[];
          for (let i = 0; i < list.length; i += 2) report(String(list[i]), 'OFFLINE', Number(list[i + 1]));
        },
        (error: Error) => log?.warn(`presence sweep: ${error.message}`),
      );
    },
    Math.max(50, Math.floor(timeoutMs / 6)),
  );
  heartbeat.unref();
  sweep.unref();

  return {
    async connected(userId) {
      try {
        await counter.connected(userId);
      } catch (error) {
        log?.warn(`presence: ${(error as Error).message}`);
      }
    },
    disconnected: counter.disconnected,
    async get(userIds) {
      if (userIds.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const userId of userIds) {
        pipeline.zscore(onlineKey, userId);
        pipeline.hget(lastKey, userId);
      }
      const results = (await pipeline.exec()) ?? [];
      const t = now();
      return userIds.map((userId, i) => {
        const score = results[2 * i]?.[1] as string | null;
        const last = results[2 * i + 1]?.[1] as string | null;
        const online = score !== null && Number(score) > t;
        return {
          userId,
          status: online ? 'ONLINE' : 'OFFLINE',
          lastActiveAt: online ? new Date(t) : last === null ? null : new Date(Number(last)),
        };
      });
    },
    async close() {
      clearInterval(heartbeat);
      clearInterval(sweep);
      counter.close();
    },
  };
}
