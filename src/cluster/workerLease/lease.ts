/**
 * Worker-id leases: each running process holds a distinct Snowflake worker id
 * (0 to 1023), renewed while it lives, so that no two issue the same ids. One
 * implementation per backend: redis.ts, and mongo.ts for deployments with
 * MongoDB but no Redis.
 */
import { randomInt } from 'node:crypto';
import type { Logger } from '../../lib/log';
import { MAX_WORKER_ID } from '../ids';

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

/** What a backend does for `leaseFirstFree`: take, renew and give back one id. */
export interface LeaseBackend {
  /** Takes `workerId` if it is free (never held, or its holder stopped renewing). */
  take(workerId: number): Promise<boolean>;
  /** Extends this process's hold; false when another process holds the id now. */
  renew(workerId: number): Promise<boolean>;
  /** Gives the id back if this process still holds it. */
  release(workerId: number): Promise<void>;
}

/**
 * Takes the first free worker id from `startAt` (wrapping around), then renews
 * it every `renewMs` while the process lives. A renewal that finds another
 * holder stops renewing and calls `onLost`; one that fails (the backend is
 * unreachable) is retried, as the id stays ours until it expires unclaimed.
 * Fails when all 1024 ids are held.
 */
export async function leaseFirstFree(backend: LeaseBackend, options: WorkerLeaseOptions): Promise<WorkerLease> {
  const { ttlMs = 30_000, onLost, log } = options;
  const renewMs = options.renewMs ?? Math.floor(ttlMs / 3);
  const start = options.startAt ?? randomInt(MAX_WORKER_ID + 1);
  for (let i = 0; i <= MAX_WORKER_ID; i++) {
    const workerId = (start + i) % (MAX_WORKER_ID + 1);
    if (!(await backend.take(workerId))) continue;
    const timer = setInterval(() => {
      backend.renew(workerId).then(
        (held) => {
          if (held) return;
          clearInterval(timer);
          log?.error(`worker id ${workerId} was taken by another process`);
          onLost(workerId);
        },
        (error: Error) => log?.warn(`worker id ${workerId}: renewal failed: ${error.message}`),
      );
    }, renewMs);
    timer.unref();
    return {
      workerId,
      async release() {
        clearInterval(timer);
        await backend.release(workerId).catch(() => undefined);
      },
    };
  }
  throw new Error(`no free worker id: all ${MAX_WORKER_ID + 1} are leased`);
}
