import type { BlockStore } from '../store';
import type { Tables } from './tables';

/** Directed blocks in `blocks`, each with when it was made. */
export function createMemoryBlockStore(t: Tables): BlockStore {
  return {
    async block(userId, blockedId, at) {
      let mine = t.blocks.get(userId);
      if (!mine) t.blocks.set(userId, (mine = new Map()));
      if (!mine.has(blockedId)) mine.set(blockedId, at);
    },
    async unblock(userId, blockedId) {
      t.blocks.get(userId)?.delete(blockedId);
    },
    async listBlocked(userId) {
      return [...(t.blocks.get(userId) ?? [])].sort((a, b) => b[1].getTime() - a[1].getTime()).map(([id]) => id);
    },
    async isBlocked(keys) {
      return keys.map(({ blockerId, blockedId }) => t.blocks.get(blockerId)?.has(blockedId) ?? false);
    },
  };
}
