import type { AccountDeletionStore } from '../store';
import type { Tables } from './tables';

/** Account deletions in `deletions`, by user id. */
export function createMemoryAccountDeletionStore(t: Tables): AccountDeletionStore {
  return {
    async start(userId, at) {
      let record = t.deletions.get(userId);
      if (!record) t.deletions.set(userId, (record = { userId, startedAt: at, finishedAt: null }));
      return { ...record };
    },
    async get(userId) {
      const record = t.deletions.get(userId);
      return record ? { ...record } : null;
    },
    async finish(userId, at) {
      const record = t.deletions.get(userId);
      if (record) record.finishedAt ??= at;
    },
    async listUnfinished(limit) {
      return [...t.deletions.values()]
        .filter((d) => d.finishedAt === null)
        .sort((a, b) => +a.startedAt - +b.startedAt)
        .slice(0, Math.max(0, limit))
        .map((d) => ({ ...d }));
    },
  };
}
