import { idInUse, type UploadRecord, type UploadStore } from '../store';
import type { Tables } from './tables';

const copyUpload = (u: UploadRecord): UploadRecord => ({
  ...u,
  completion: u.completion && { ...u.completion },
});

/**
 * Uploads in `uploads`, each carrying its claim. Every operation finishes
 * without yielding, so a claim of several uploads is all or none at once.
 */
export function createMemoryUploadStore(t: Tables): UploadStore {
  return {
    async create(input) {
      if (t.uploads.has(input.id)) throw idInUse('upload', input.id);
      const upload: UploadRecord = { ...input, completion: null, holder: null };
      t.uploads.set(upload.id, upload);
      return copyUpload(upload);
    },
    async getMany(ids) {
      return ids.map((id) => {
        const u = t.uploads.get(id);
        return u ? copyUpload(u) : null;
      });
    },
    async complete(id, completion) {
      const upload = t.uploads.get(id);
      if (!upload) return null;
      upload.completion ??= { ...completion };
      return copyUpload(upload);
    },
    async claim(ids, holder) {
      for (const id of ids) {
        const upload = t.uploads.get(id);
        if (!upload) return { status: 'taken', uploadId: id, holder: null };
        if (upload.holder !== null && upload.holder !== holder) {
          return { status: 'taken', uploadId: id, holder: upload.holder };
        }
      }
      for (const id of ids) t.uploads.get(id)!.holder = holder;
      return { status: 'ok' };
    },
    async release(ids, holder) {
      for (const id of ids) {
        const upload = t.uploads.get(id);
        if (upload?.holder === holder) upload.holder = null;
      }
    },
    async delete(ids) {
      for (const id of ids) t.uploads.delete(id);
    },
    async listUnclaimed(before, limit) {
      return [...t.uploads.values()]
        .filter((u) => u.holder === null && u.createdAt < before)
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1))
        .slice(0, Math.max(0, limit))
        .map(copyUpload);
    },
  };
}
