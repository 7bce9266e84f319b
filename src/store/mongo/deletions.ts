import type { AccountDeletionRecord, AccountDeletionStore } from '../store';
import { isDuplicateKey, type AccountDeletionDoc, type Collections } from './documents';

const toDeletion = (d: AccountDeletionDoc): AccountDeletionRecord => ({
  userId: d._id,
  startedAt: d.startedAt,
  finishedAt: d.finishedAt ?? null,
});

/** Account deletions in `accountDeletions`, one per user by `_id`: the first start is the one that stays. */
export function createAccountDeletionStore(c: Collections): AccountDeletionStore {
  const get = async (userId: string) => {
    const doc = await c.accountDeletions.findOne({ _id: userId });
    return doc ? toDeletion(doc) : null;
  };
  return {
    async start(userId, at) {
      try {
        await c.accountDeletions.insertOne({ _id: userId, startedAt: at });
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      const record = await get(userId);
      if (!record) throw new Error(`account deletion of ${userId}: not found right after it was stored`);
      return record;
    },
    get,
    async finish(userId, at) {
      await c.accountDeletions.updateOne({ _id: userId, finishedAt: null }, { $set: { finishedAt: at } });
    },
    async listUnfinished(limit) {
      if (limit <= 0) return [];
      const docs = await c.accountDeletions.find({ finishedAt: null }).sort({ startedAt: 1 }).limit(limit).toArray();
      return docs.map(toDeletion);
    },
  };
}
