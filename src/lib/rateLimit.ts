/** Token buckets per key (user id, client address), in this process's memory. */
export interface RateLimiter {
  /** Takes one token for `key`: 0 when allowed, else the seconds until one is available. */
  take(key: string): number;
}

/** Options of `createRateLimiter`. */
export interface RateLimitOptions {
  /** Requests allowed in a burst. */
  burst: number;
  /** Tokens added back per second. */
  perSecond: number;
  /** @default Date.now */
  now?: () => number;
}

/** A token-bucket limiter; buckets that have refilled are forgotten so memory stays bounded by activity. */
export function createRateLimiter({ burst, perSecond, now = Date.now }: RateLimitOptions): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refill = (bucket: { tokens: number; at: number }, t: number) => {
    bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1000) * perSecond);
    bucket.at = t;
  };
  return {
    take(key) {
      const t = now();
      if (buckets.size > 10_000) {
        for (const [k, bucket] of buckets) {
          refill(bucket, t);
          if (bucket.tokens >= burst) buckets.delete(k);
        }
      }
      const bucket = buckets.get(key) ?? { tokens: burst, at: t };
      refill(bucket, t);
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
    },
  };
}
