import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import { isDuplicateKey } from '../../store/mongo/documents';
import { leaseFirstFree, type WorkerLease, type WorkerLeaseOptions } from './lease';

/** One held worker id; `_id` is the id itself. */
interface LeaseDoc {
  _id: number;
  owner: string;
  expiresAt: Date;
}

/**
 * Takes a free worker id from a MongoDB collection, for deployments with
 * MongoDB and no Redis. Only inserts and deletes decide who holds an id (the
 * unique `_id` makes one insert win; FerretDB applies updates non-atomically):
 * an id is free when there is no document for it, or when its holder stopped
 * renewing, in which case it is deleted by its expiry and taken by insert.
 * The holder renews its expiry while it lives and learns that it lost the id
 * when its renewal finds another owner. Clocks of processes are assumed to
 * agree to well within the TTL.
 */
export function leaseWorkerIdFromMongo(
  db: Db,
  options: WorkerLeaseOptions & { /** @default 'workerLeases' */ collection?: string },
): Promise<WorkerLease> {
  const { ttlMs = 30_000, collection = 'workerLeases' } = options;
  const leases = db.collection<LeaseDoc>(collection);
  const owner = randomUUID();
  const expiry = () => new Date(Date.now() + ttlMs);

  async function insert(workerId: number): Promise<boolean> {
    try {
      await leases.insertOne({ _id: workerId, owner, expiresAt: expiry() });
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  return leaseFirstFree(
    {
      async take(workerId) {
        if (await insert(workerId)) return true;
        // Held: free it only if its holder stopped renewing; then the first insert wins.
        const freed = await leases.deleteOne({ _id: workerId, expiresAt: { $lt: new Date() } });
        return freed.deletedCount === 1 && (await insert(workerId));
      },
      renew: async (workerId) =>
        (await leases.updateOne({ _id: workerId, owner }, { $set: { expiresAt: expiry() } })).matchedCount === 1,
      release: async (workerId) => void (await leases.deleteOne({ _id: workerId, owner })),
    },
    options,
  );
}
