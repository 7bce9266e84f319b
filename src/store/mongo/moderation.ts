import type { Filter } from 'mongodb';
import { idInUse, type MessageRecord, type ModerationStore, type ReportRecord, type SuspensionRecord } from '../store';
import { byIds, isDuplicateKey, type Collections, type ReportDoc, type SuspensionDoc } from './documents';

/** A stored message snapshot as a record: FerretDB may drop its null fields. */
function toSnapshot(m: MessageRecord): MessageRecord {
  return {
    ...m,
    clientMessageId: m.clientMessageId ?? null,
    editedAt: m.editedAt ?? null,
    deletedAt: m.deletedAt ?? null,
    reactions: m.reactions ?? [],
    replyToId: m.replyToId ?? null,
    mentionIds: m.mentionIds ?? [],
  };
}

function toReport({ _id, ...fields }: ReportDoc): ReportRecord {
  return { id: _id, ...fields, note: fields.note ?? null, message: fields.message ? toSnapshot(fields.message) : null };
}

const toSuspension = ({ _id, ...fields }: SuspensionDoc): SuspensionRecord => ({ userId: _id, ...fields });

/**
 * Reports in `reports` (listed by the (createdAt, _id) index) and suspensions
 * in `suspensions`, one per user by `_id`: of two suspensions at once the
 * first insert stays.
 */
export function createModerationStore(c: Collections): ModerationStore {
  return {
    async addReport({ id, ...fields }) {
      try {
        await c.reports.insertOne({ _id: id, ...fields });
      } catch (error) {
        if (isDuplicateKey(error)) throw idInUse('report', id);
        throw error;
      }
    },
    async listReports({ first, after }) {
      if (first <= 0) return [];
      const filter: Filter<ReportDoc> = after
        ? {
            $or: [
              { createdAt: { $lt: after.createdAt } },
              // Snowflake ids of one length order as their digits do: all of ours have 19 digits until 2086.
              { createdAt: after.createdAt, _id: { $lt: after.id } },
            ],
          }
        : {};
      const docs = await c.reports.find(filter).sort({ createdAt: -1, _id: -1 }).limit(first).toArray();
      return docs.map(toReport);
    },
    async suspend({ userId, ...fields }) {
      try {
        await c.suspensions.insertOne({ _id: userId, ...fields });
        return { suspension: { userId, ...fields }, created: true };
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        const existing = await c.suspensions.findOne({ _id: userId });
        if (!existing) throw error;
        return { suspension: toSuspension(existing), created: false };
      }
    },
    getSuspensions: (userIds) => byIds(c.suspensions, userIds, toSuspension),
  };
}
