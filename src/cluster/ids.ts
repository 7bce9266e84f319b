/**
 * Snowflake ids: 41 bits of milliseconds since 2024-01-01T00:00:00Z, 10 bits
 * of worker id, 12 bits of sequence within the millisecond. Ids from one
 * generator strictly increase; ids from generators with different worker ids
 * never collide; ids from any two generators order by creation time to within
 * their clocks' skew. Rendered as decimal strings.
 */

/** The epoch of the timestamp part. */
export const SNOWFLAKE_EPOCH_MS = Date.UTC(2024, 0, 1);
/** Worker ids are 0 to 1023. */
export const MAX_WORKER_ID = 1023;
const MAX_SEQUENCE = 4095;

/** Produces ids; see the module comment. */
export interface IdGenerator {
  next(): string;
  readonly workerId: number;
}

/** Options of `createIdGenerator`. */
export interface IdGeneratorOptions {
  /** Unique among the processes running at the same time, 0 to 1023. */
  workerId: number;
  /** @default Date.now */
  now?: () => number;
}

/** A Snowflake id generator for one worker id. */
export function createIdGenerator({ workerId, now = Date.now }: IdGeneratorOptions): IdGenerator {
  if (!Number.isInteger(workerId) || workerId < 0 || workerId > MAX_WORKER_ID) {
    throw new RangeError(`worker id must be an integer from 0 to ${MAX_WORKER_ID}, got ${workerId}`);
  }
  let lastMs = -1;
  let sequence = 0;
  return {
    workerId,
    next() {
      // A clock that steps back is ignored: ids keep increasing from the last one issued.
      let ms = Math.max(now() - SNOWFLAKE_EPOCH_MS, lastMs);
      if (ms === lastMs) {
        sequence = (sequence + 1) & MAX_SEQUENCE;
        // 4096 ids in one millisecond: borrow the next millisecond rather than spin.
        if (sequence === 0) ms = lastMs + 1;
      } else {
        sequence = 0;
      }
      lastMs = ms;
      return ((BigInt(ms) << 22n) | (BigInt(workerId) << 12n) | BigInt(sequence)).toString();
    },
  };
}

/** The time encoded in a Snowflake id, or null when `id` is not one. */
export function snowflakeTime(id: string): Date | null {
  if (!/^[0-9]{1,20}$/.test(id)) return null;
  const value = BigInt(id);
  if (value >= 1n << 63n) return null;
  return new Date(Number(value >> 22n) + SNOWFLAKE_EPOCH_MS);
}
