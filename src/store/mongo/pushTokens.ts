import type { PushTokenStore } from '../store';
import { upsertOnce, type Collections } from './documents';

/**
 * Device tokens in the `pushTokens` collection, keyed by token. A registration
 * writes its token, then drops the user's others beyond the newest
 * `maxPerUser - 1`: no read-modify-write, so that FerretDB's non-atomic
 * updates cannot lose one. Concurrent registrations of one user each evict
 * after their own write, so the last to finish leaves at most `maxPerUser`.
 */
export function createPushTokenStore(c: Collections): PushTokenStore {
  return {
    async register({ token, userId, platform }, at, maxPerUser) {
      await upsertOnce(() =>
        c.pushTokens.replaceOne({ _id: token }, { userId, platform, registeredAt: at }, { upsert: true }),
      );
      // Tokens stored before registeredAt was kept sort last: they are the first to go.
      const beyond = await c.pushTokens
        .find({ userId, _id: { $ne: token } }, { projection: { _id: 1 } })
        .sort({ registeredAt: -1, _id: -1 })
        .skip(Math.max(0, maxPerUser - 1))
        .toArray();
      if (beyond.length === 0) return;
      // Only while still theirs: one registered by another user meanwhile has moved on, and stays.
      await c.pushTokens.deleteMany({ _id: { $in: beyond.map((d) => d._id) }, userId });
    },
    async unregister(userId, token) {
      await c.pushTokens.deleteOne({ _id: token, userId });
    },
    async unregisterAll(userId) {
      await c.pushTokens.deleteMany({ userId });
    },
    async listForUsers(userIds) {
      if (userIds.length === 0) return [];
      const docs = await c.pushTokens.find({ userId: { $in: [...userIds] } }).toArray();
      return docs.map((d) => ({ token: d._id, userId: d.userId, platform: d.platform }));
    },
  };
}
