import type { FriendStore } from '../store';
import { upsertOnce, type Collections } from './documents';

/** Directed friend edges in the `friends` collection, one document each. */
export function createFriendStore(c: Collections): FriendStore {
  return {
    async add(userId, friendId) {
      await upsertOnce(() =>
        c.friends.updateOne({ _id: `${userId}:${friendId}` }, { $setOnInsert: { userId, friendId } }, { upsert: true }),
      );
    },
    async remove(userId, friendId) {
      await c.friends.deleteMany({ _id: { $in: [`${userId}:${friendId}`, `${friendId}:${userId}`] } });
    },
    async listMutual(userId) {
      const addedMe = await c.friends.find({ friendId: userId }).toArray();
      if (addedMe.length === 0) return [];
      const mine = await c.friends.find({ _id: { $in: addedMe.map((d) => `${userId}:${d.userId}`) } }).toArray();
      return mine.map((d) => d.friendId);
    },
  };
}
