/**
 * Rate limits on rate-limiter-flexible: in this process's memory, or shared
 * by every process through Redis (with a memory limiter as insurance while
 * Redis cannot be reached, so that an outage neither fails requests nor lifts
 * every limit).
 */
import type { RedisClient } from './redis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/** Allowances per key (user id, client address, account name). */
export interface RateLimiter {
  /** What it limits, as given to createRateLimiter (for logs and metrics). */
  readonly name: string;
  /**
   * Spends `points` allowances of `key` (@default 1): 0 when allowed, else the seconds until
   * they are available. A refused take of one point still counts (hammering keeps the window
   * full); a refused take of several spends nothing.
   */
  take(key: string, points?: number): Promise<number>;
  /** Gives back one allowance taken before (for limits that count only failures). */
  refund(key: string): Promise<void>;
  /** Restores every allowance of `key` at once. */
  reset(key: string): Promise<void>;
}

/** Options of `createRateLimiter`. */
export interface RateLimitOptions {
  /** Actions allowed at once. */
  burst: number;
  /** Actions allowed per second on average: `burst` per `burst / perSecond` seconds. */
  perSecond: number;
  /** Distinguishes this limiter's keys from other limiters' in a shared store. */
  name: string;
  /** Shared through this Redis when given. @default null: this process alone */
  redis?: RedisClient | null;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
/** The longest window: the memory store times keys out with setTimeout, whose range ends at about 24 days. */
const MAX_WINDOW_SECONDS = 24 * 3600;

/**
 * A limiter of `burst` actions per window of `burst / perSecond` seconds (a
 * fixed window, as rate-limiter-flexible counts), from 1 second to a day.
 */
export function createRateLimiter({ burst, perSecond, name, redis = null }: RateLimitOptions): RateLimiter {
  const window = {
    points: burst,
    duration: Math.min(MAX_WINDOW_SECONDS, Math.max(1, Math.ceil(burst / perSecond))),
    keyPrefix: `chat:rl:${name}`,
  };
  const memory = new RateLimiterMemory(window);
  const limiter: RateLimiterAbstract = redis
    ? new RateLimiterRedis({ ...window, storeClient: redis, insuranceLimiter: memory })
    : memory;
  return {
    name,
    async take(key, points = 1) {
      try {
        await limiter.consume(key, points);
        return 0;
      } catch (rejected) {
        if (!(rejected instanceof RateLimiterRes)) throw rejected;
        // A refused take of several points spends none: a large request refused leaves the allowance to smaller ones.
        if (points > 1) await limiter.reward(key, points);
        return seconds(rejected.msBeforeNext);
      }
    },
    async refund(key) {
      await limiter.reward(key, 1);
    },
    async reset(key) {
      await limiter.delete(key);
    },
  };
}
