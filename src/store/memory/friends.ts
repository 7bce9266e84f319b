import type { FriendStore } from '../store';
import type { Tables } from './tables';

/** Directed friend edges in `friendEdges`, one set of added ids per user. */
export function createMemoryFriendStore(t: Tables): FriendStore {
  return {
    async add(userId, friendId) {
      let added = t.friendEdges.get(userId);
      if (!added) t.friendEdges.set(userId, (added = new Set()));
      added.add(friendId);
    },
    async remove(userId, friendId) {
      t.friendEdges.get(userId)?.delete(friendId);
      t.friendEdges.get(friendId)?.delete(userId);
    },
    async listMutual(userId) {
      const added = t.friendEdges.get(userId) ?? new Set<string>();
      return [...added].filter((friendId) => t.friendEdges.get(friendId)?.has(userId) ?? false);
    },
  };
}
