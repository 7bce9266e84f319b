import type { BlockStore } from '../store';
import { byIds, upsertOnce, type Collections } from './documents';

const blockId = (blockerId: string, blockedId: string) => `${blockerId}:${blockedId}`;

/** Directed blocks in the `blocks` collection, one document each. */
export function createBlockStore(c: Collections): BlockStore {
  return {
    async block(blockerId, blockedId, at) {
      await upsertOnce(() =>
        c.blocks.updateOne(
          { _id: blockId(blockerId, blockedId) },
          { $setOnInsert: { blockerId, blockedId, at } },
          { upsert: true },
        ),
      );
    },
    async unblock(blockerId, blockedId) {
      await c.blocks.deleteOne({ _id: blockId(blockerId, blockedId) });
    },
    async listBlocked(blockerId) {
      const docs = await c.blocks
        .find({ blockerId }, { projection: { blockedId: 1 } })
        .sort({ at: -1 })
        .toArray();
      return docs.map((d) => d.blockedId);
    },
    async isBlocked(keys) {
      const found = await byIds(
        c.blocks,
        keys.map((k) => blockId(k.blockerId, k.blockedId)),
        () => true,
      );
      return found.map((f) => f === true);
    },
  };
}
