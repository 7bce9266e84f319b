import type { UploadRecord, UploadStore } from '../store';
import { idInUse } from '../store';
import { byIds, isDuplicateKey, type Collections, type UploadDoc } from './documents';

function toUpload({ _id, completion, claimed: _claimed, ...fields }: UploadDoc, holder: string | null): UploadRecord {
  return { id: _id, ...fields, completion: completion ?? null, holder };
}

/**
 * Uploads in `uploads`, their claims in `uploadClaims` (one document per
 * upload, `_id` the upload id): a claim is an insert, so of concurrent claims
 * of one upload exactly one wins, on MongoDB and FerretDB alike.
 */
export function createUploadStore(c: Collections): UploadStore {
  const holders = async (ids: readonly string[]) =>
    new Map(
      (await c.uploadClaims.find({ _id: { $in: [...new Set(ids)] } }).toArray()).map((doc) => [doc._id, doc.holder]),
    );

  return {
    async create(input) {
      const { id, ...fields } = input;
      const doc: UploadDoc = { _id: id, ...fields };
      try {
        await c.uploads.insertOne(doc);
      } catch (error) {
        if (isDuplicateKey(error)) throw idInUse('upload', id);
        throw error;
      }
      return toUpload(doc, null);
    },
    async getMany(ids) {
      if (ids.length === 0) return [];
      const [docs, held] = await Promise.all([byIds(c.uploads, ids, (doc) => doc), holders(ids)]);
      return docs.map((doc) => doc && toUpload(doc, held.get(doc._id) ?? null));
    },
    async complete(id, completion) {
      // Completions of one upload are made of the same bytes: whichever is stored first is as good as the others.
      await c.uploads.updateOne({ _id: id, completion: { $exists: false } }, { $set: { completion } });
      const [upload] = await this.getMany([id]);
      return upload ?? null;
    },
    async claim(ids, holder) {
      const unique = [...new Set(ids)];
      const found = await byIds(c.uploads, unique, (doc) => doc._id);
      const missing = unique.find((_, i) => found[i] === null);
      if (missing !== undefined) return { status: 'taken', uploadId: missing, holder: null };
      // One order for every claimer, so that of two claims of overlapping sets one always gets all.
      const mine: string[] = [];
      for (const id of unique.sort()) {
        try {
          await c.uploadClaims.insertOne({ _id: id, holder, at: new Date() });
          mine.push(id);
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
          const other = (await c.uploadClaims.findOne({ _id: id }))?.holder ?? null;
          if (other === holder) continue;
          if (mine.length > 0) await c.uploadClaims.deleteMany({ _id: { $in: mine }, holder });
          return { status: 'taken', uploadId: id, holder: other };
        }
      }
      await c.uploads.updateMany({ _id: { $in: unique } }, { $set: { claimed: true } });
      return { status: 'ok' };
    },
    async release(ids, holder) {
      if (ids.length === 0) return;
      const released = await c.uploadClaims.find({ _id: { $in: [...ids] }, holder }).toArray();
      if (released.length === 0) return;
      await c.uploadClaims.deleteMany({ _id: { $in: released.map((r) => r._id) }, holder });
      await c.uploads.updateMany({ _id: { $in: released.map((r) => r._id) } }, { $unset: { claimed: '' } });
    },
    async delete(ids) {
      if (ids.length === 0) return;
      await c.uploads.deleteMany({ _id: { $in: [...ids] } });
      await c.uploadClaims.deleteMany({ _id: { $in: [...ids] } });
    },
    async listUnclaimed(before, limit) {
      if (limit <= 0) return [];
      const docs = await c.uploads
        .find({ createdAt: { $lt: before }, claimed: { $exists: false } })
        .sort({ createdAt: 1, _id: 1 })
        .limit(limit)
        .toArray();
      const held = await holders(docs.map((d) => d._id));
      return docs.filter((d) => !held.has(d._id)).map((d) => toUpload(d, null));
    },
  };
}
