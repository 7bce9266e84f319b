import type { Filter } from 'mongodb';
import {
  idInUse,
  type MessageChange,
  type MessageRecord,
  type MessageStore,
  type NewMessage,
  type ReactionRecord,
} from '../store';
import {
  byIds,
  duplicateOn,
  isDuplicateKey,
  newestMessage,
  toMessage,
  type Collections,
  type MessageDoc,
  type ReactionDoc,
  type RevisionDoc,
} from './documents';

/** Options of `createMessageStore`. */
export interface MessageStoreOptions {
  /**
   * Attempts to append one message before giving up under extreme contention
   * for the next seq of one conversation. @default 1000
   */
  maxAppendAttempts?: number;
}

/** The fields of a message document that edits, deletions and reactions change. */
type Derived = Pick<MessageRecord, 'content' | 'editedAt' | 'deletedAt' | 'reactions'>;

/** Reactions grouped by emoji, in order of first use; `docs` sorted by (at, _id). */
function groupReactions(docs: readonly ReactionDoc[]): ReactionRecord[] {
  const byEmoji = new Map<string, string[]>();
  for (const d of docs) {
    const users = byEmoji.get(d.emoji);
    if (users) users.push(d.userId);
    else byEmoji.set(d.emoji, [d.userId]);
  }
  return [...byEmoji].map(([emoji, userIds]) => ({ emoji, userIds }));
}

const sameDerived = (a: Derived, b: Derived) =>
  a.content === b.content &&
  a.editedAt?.getTime() === b.editedAt?.getTime() &&
  a.deletedAt?.getTime() === b.deletedAt?.getTime() &&
  JSON.stringify(a.reactions) === JSON.stringify(b.reactions);

/**
 * History in the `messages` collection. A message's `seq` is the newest
 * stored one plus one, and (conversation, seq) is unique: of two processes
 * that read the same newest seq, only one can insert the next, so commit order
 * is `seq` order without a counter or a transaction.
 */
export function createMessageStore(c: Collections, options: MessageStoreOptions = {}): MessageStore {
  const maxAppendAttempts = options.maxAppendAttempts ?? 1000;
  /** Appends to one conversation from this process run one at a time: contention is left only between processes. */
  const appendQueues = new Map<string, Promise<unknown>>();

  function serialized<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = appendQueues.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    appendQueues.set(key, tail);
    void tail.then(() => {
      if (appendQueues.get(key) === tail) appendQueues.delete(key);
    });
    return run;
  }

  async function findByClientKey(conversationId: string, clientKey: string): Promise<MessageRecord | null> {
    const doc = await c.messages.findOne({ conversationId, clientKey });
    return doc ? toMessage(doc) : null;
  }

  async function appendOnce(input: NewMessage): Promise<{ message: MessageRecord; created: boolean }> {
    const clientKey =
      input.clientMessageId === null ? `id:${input.id}` : `c:${input.senderId}:${input.clientMessageId}`;
    if (input.clientMessageId !== null) {
      const original = await findByClientKey(input.conversationId, clientKey);
      if (original) return { message: original, created: false };
    }
    for (let attempt = 0; attempt < maxAppendAttempts; attempt++) {
      // Seq n is only ever inserted after n - 1 is stored (see the module comment).
      const newest = await newestMessage(c, input.conversationId);
      const { id, ...fields } = input;
      const doc: MessageDoc = { _id: id, ...fields, seq: (newest?.seq ?? 0) + 1, clientKey };
      try {
        await c.messages.insertOne(doc);
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        if (input.clientMessageId !== null) {
          const original = await findByClientKey(input.conversationId, clientKey);
          if (original) return { message: original, created: false };
        }
        // Not a retry: the next seq was taken (try again), or the message id itself (never retried).
        const idTaken = duplicateOn(error, '_id') ?? (await c.messages.countDocuments({ _id: id }, { limit: 1 })) > 0;
        if (idTaken) throw idInUse('message', id);
        if (attempt > 3) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 2)));
        continue;
      }
      await c.conversations.updateOne({ _id: input.conversationId }, { $max: { lastActivityAt: doc.createdAt } });
      return { message: toMessage(doc), created: true };
    }
    throw new Error(`append: no free seq in conversation ${input.conversationId} after ${maxAppendAttempts} attempts`);
  }

  const latestRevision = (messageId: string) => c.revisions.find({ messageId }).sort({ rev: -1 }).limit(1).next();

  /**
   * Brings the copy on the message document (content, editedAt, deletedAt,
   * reactions) in line with the revisions and reactions, which are the truth:
   * only inserts and deletes decide concurrent changes (see the module comment
   * of ./index.ts). Every writer reads the truth, writes, and reads again until
   * the document matches, so the last write is always checked against the
   * newest truth and the copy cannot settle on an older state.
   */
  async function refresh(id: string): Promise<MessageRecord | null> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const [doc, latest, reactions] = await Promise.all([
        c.messages.findOne({ _id: id }),
        latestRevision(id),
        c.reactions.find({ messageId: id }).sort({ at: 1, _id: 1 }).toArray(),
      ]);
      if (!doc) return null;
      const current = toMessage(doc);
      const deletedAt = latest?.deletedAt ?? null;
      const wanted: Derived = {
        content: latest ? latest.content : current.content,
        editedAt: latest?.editedAt ?? null,
        deletedAt,
        reactions: deletedAt ? [] : groupReactions(reactions),
      };
      if (sameDerived(current, wanted)) return current;
      await c.messages.updateOne({ _id: id }, { $set: wanted });
    }
    throw new Error(`message ${id}: its document does not settle under concurrent changes`);
  }

  /** The message once its document is refreshed, as the outcome of a change that applied. */
  async function refreshed(id: string): Promise<MessageChange> {
    const message = await refresh(id);
    return message ? { status: 'ok', message } : { status: 'missing' };
  }

  /**
   * Inserts the next revision of a message, `next` deciding it from the
   * newest one (null: nothing to insert, return the message as it is).
   */
  async function revise(
    id: string,
    next: (latest: RevisionDoc | null) => Omit<RevisionDoc, '_id' | 'messageId' | 'rev'> | 'deleted' | null,
  ): Promise<MessageChange> {
    for (let attempt = 0; attempt < maxAppendAttempts; attempt++) {
      if ((await c.messages.countDocuments({ _id: id }, { limit: 1 })) === 0) return { status: 'missing' };
      const latest = await latestRevision(id);
      const change = next(latest);
      if (change === 'deleted') return { status: 'deleted', message: (await refresh(id))! };
      if (change !== null) {
        const rev = (latest?.rev ?? 0) + 1;
        try {
          await c.revisions.insertOne({ _id: `${id}:${rev}`, messageId: id, rev, ...change });
        } catch (error) {
          // A concurrent change took this revision: decide again from it.
          if (!isDuplicateKey(error)) throw error;
          continue;
        }
      }
      return refreshed(id);
    }
    throw new Error(`message ${id}: no free revision after ${maxAppendAttempts} attempts`);
  }

  /** The message unless it is missing or deleted, checked by its newest revision. */
  async function changeable(id: string): Promise<MessageChange> {
    const [doc, latest] = await Promise.all([c.messages.findOne({ _id: id }), latestRevision(id)]);
    if (!doc) return { status: 'missing' };
    if (latest?.deletedAt) return { status: 'deleted', message: (await refresh(id))! };
    return { status: 'ok', message: toMessage(doc) };
  }

  return {
    async edit(id, content, editedAt) {
      return revise(id, (latest) => (latest?.deletedAt ? 'deleted' : { content, editedAt, deletedAt: null }));
    },
    async delete(id, deletedAt) {
      return revise(id, (latest) =>
        latest?.deletedAt ? null : { content: '', editedAt: latest?.editedAt ?? null, deletedAt },
      );
    },
    async react(id, userId, emoji, at, maxDistinct) {
      const found = await changeable(id);
      if (found.status !== 'ok') return found;
      const known = found.message.reactions.some((r) => r.emoji === emoji);
      if (!known && found.message.reactions.length >= maxDistinct) return { status: 'too-many' };
      const _id = `${id}:${userId}:${emoji}`;
      try {
        await c.reactions.insertOne({ _id, messageId: id, userId, emoji, at });
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        // Reacted already (or concurrently): idempotent.
        return refreshed(id);
      }
      if (!known) {
        // Of new emoji added at once, the last to read sees every one that stays (each read follows its own
        // insert), so "withdraw when more than allowed are seen" never leaves more; it may refuse one that fit.
        const docs = await c.reactions.find({ messageId: id }).sort({ at: 1, _id: 1 }).toArray();
        if (groupReactions(docs).length > maxDistinct) {
          await c.reactions.deleteOne({ _id });
          await refresh(id);
          return { status: 'too-many' };
        }
      }
      return refreshed(id);
    },
    async unreact(id, userId, emoji) {
      if ((await c.messages.countDocuments({ _id: id }, { limit: 1 })) === 0) return { status: 'missing' };
      await c.reactions.deleteOne({ _id: `${id}:${userId}:${emoji}` });
      return refreshed(id);
    },
    append: (input) => serialized(input.conversationId, () => appendOnce(input)),
    getMany: (ids) => byIds(c.messages, ids, toMessage),
    async page(conversationId, { afterSeq, beforeSeq, limit, from }) {
      if (limit <= 0) return [];
      const seq: { $gt?: number; $lt?: number } = {};
      if (afterSeq !== undefined) seq.$gt = afterSeq;
      if (beforeSeq !== undefined) seq.$lt = beforeSeq;
      const filter: Filter<MessageDoc> = {
        conversationId,
        ...(afterSeq !== undefined || beforeSeq !== undefined ? { seq } : {}),
      };
      const docs = await c.messages
        .find(filter)
        .sort({ seq: from === 'oldest' ? 1 : -1 })
        .limit(limit)
        .toArray();
      if (from === 'newest') docs.reverse();
      return docs.map(toMessage);
    },
    async countUnread(conversationId, afterSeq, userId) {
      return c.messages.countDocuments({ conversationId, seq: { $gt: afterSeq }, senderId: { $ne: userId } });
    },
  };
}
