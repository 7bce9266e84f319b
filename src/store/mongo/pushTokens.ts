import type { PushTokenStore } from '../store';
import { upsertOnce, type Collections } from './documents';

/** Device tokens in the `pushTokens` collection, keyed by token. */
export function createPushTokenStore(c: Collections): PushTokenStore {
  return {
    async register({ token, userId, platform }) {
      await upsertOnce(() => c.pushTokens.replaceOne({ _id: token }, { userId, platform }, { upsert: true }));
    },
    async unregister(userId, token) {
      await c.pushTokens.deleteOne({ _id: token, userId });
    },
    async listForUsers(userIds) {
      if (userIds.length === 0) return [];
      const docs = await c.pushTokens.find({ userId: { $in: [...userIds] } }).toArray();
      return docs.map((d) => ({ token: d._id, userId: d.userId, platform: d.platform }));
    },
  };
}
