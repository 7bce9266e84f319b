/**
 * Worker-id leases: each running process holds a distinct Snowflake worker id
 * (0 to 1023), renewed while it lives, so that no two issue the same ids. One
 * implementation per backend: redis.ts, and mongo.ts for deployments with
 * MongoDB but no Redis.
 */
import type { Logger } from '../../lib/log';

/** A Snowflake worker id held for as long as this process renews it. */
export interface WorkerLease {
  workerId: number;
  /** Stops renewing and gives the id back. */
  release(): Promise<void>;
}

/** Options of every lease implementation. */
export interface WorkerLeaseOptions {
  /** How long a lease lives without renewal. @default 30000 */
  ttlMs?: number;
  /** How often it is renewed. @default ttlMs / 3 */
  renewMs?: number;
  /** Called when the id was taken by another process: this one must stop issuing ids. */
  onLost: (workerId: number) => void;
  log?: Logger;
  /** The first worker id to try. @default a random one */
  startAt?: number;
}
