import { idInUse, type ModerationStore, type ReportRecord } from '../store';
import type { Tables } from './tables';

const copyReport = (r: ReportRecord): ReportRecord => ({
  ...r,
  message: r.message && {
    ...r.message,
    reactions: r.message.reactions.map((x) => ({ emoji: x.emoji, userIds: [...x.userIds] })),
    mentionIds: [...r.message.mentionIds],
  },
});

/** Newest first: createdAt, then id (Snowflake ids of one length compare as numbers), descending. */
const newerFirst = (a: { createdAt: Date; id: string }, b: { createdAt: Date; id: string }) =>
  +b.createdAt - +a.createdAt || b.id.length - a.id.length || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** Reports in `reports`, suspensions in `suspensions` (the first one stays). */
export function createMemoryModerationStore(t: Tables): ModerationStore {
  return {
    async addReport(report) {
      if (t.reports.has(report.id)) throw idInUse('report', report.id);
      t.reports.set(report.id, copyReport(report));
    },
    async listReports({ first, after }) {
      if (first <= 0) return [];
      const all = [...t.reports.values()].sort(newerFirst);
      const start = after ? all.findIndex((r) => newerFirst(after, r) < 0) : 0;
      return (start < 0 ? [] : all.slice(start, start + first)).map(copyReport);
    },
    async suspend(suspension) {
      const existing = t.suspensions.get(suspension.userId);
      if (existing) return { suspension: { ...existing }, created: false };
      t.suspensions.set(suspension.userId, { ...suspension });
      return { suspension: { ...suspension }, created: true };
    },
    async getSuspensions(userIds) {
      return userIds.map((id) => {
        const s = t.suspensions.get(id);
        return s ? { ...s } : null;
      });
    },
  };
}
