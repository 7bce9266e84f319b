import type { Filter } from 'mongodb';
import { idInUse, type MessageRange, type MessageRecord, type MessageStore, type NewMessage } from '../store';
import {
  byIds,
  duplicateOn,
  isDuplicateKey,
  newestMessage,
  toMessage,
  type Collections,
  type MessageDoc,
} from './documents';
import { deleteMessage, edit, react, unreact } from './messageChanges';

/** Options of `createMessageStore`. */
export interface MessageStoreOptions {
  /**
   * Attempts to append one message before giving up under extreme contention
   * for the next seq of one conversation. @default 1000
   */
  maxAppendAttempts?: number;
}

/** Runs `task` once every task queued before it under `key` has settled. */
function serialized<T>(queues: Map<string, Promise<unknown>>, key: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}

async function findByClientKey(
  c: Collections,
  conversationId: string,
  clientKey: string,
): Promise<MessageRecord | null> {
  const doc = await c.messages.findOne({ conversationId, clientKey });
  return doc ? toMessage(doc) : null;
}

async function appendOnce(
  c: Collections,
  maxAppendAttempts: number,
  input: NewMessage,
): Promise<{ message: MessageRecord; created: boolean }> {
  const commit = input.mls?.kind === 'COMMIT' ? commitKey(input.mls.epoch) : null;
  const clientKey =
    commit ?? (input.clientMessageId === null ? `id:${input.id}` : `c:${input.senderId}:${input.clientMessageId}`);
  if (commit !== null || input.clientMessageId !== null) {
    const original = await findByClientKey(c, input.conversationId, clientKey);
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
      if (commit !== null || input.clientMessageId !== null) {
        const original = await findByClientKey(c, input.conversationId, clientKey);
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

/** The clientKey of a conversation's commit for `epoch`: unique, so one commit per epoch is stored. */
const commitKey = (epoch: number) => `mls-epoch:${epoch}`;

/** A range of one conversation's history, in `seq` order. */
async function page(
  c: Collections,
  conversationId: string,
  { afterSeq, beforeSeq, limit, from }: MessageRange,
): Promise<MessageRecord[]> {
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
}

async function countUnread(c: Collections, conversationId: string, afterSeq: number, userId: string): Promise<number> {
  return c.messages.countDocuments({ conversationId, seq: { $gt: afterSeq }, senderId: { $ne: userId } });
}

/**
 * History in the `messages` collection. A message's `seq` is the newest
 * stored one plus one, and (conversation, seq) is unique: of two processes
 * that read the same newest seq, only one can insert the next, so commit order
 * is `seq` order without a counter or a transaction. Edits, deletions and
 * reactions are in ./messageChanges.ts.
 */
export function createMessageStore(c: Collections, options: MessageStoreOptions = {}): MessageStore {
  const maxAppendAttempts = options.maxAppendAttempts ?? 1000;
  /** Appends to one conversation from this process run one at a time: contention is left only between processes. */
  const appendQueues = new Map<string, Promise<unknown>>();
  return {
    append: (input) => serialized(appendQueues, input.conversationId, () => appendOnce(c, maxAppendAttempts, input)),
    findCommit: (conversationId, epoch) => findByClientKey(c, conversationId, commitKey(epoch)),
    getMany: (ids) => byIds(c.messages, ids, toMessage),
    page: (conversationId, range) => page(c, conversationId, range),
    countUnread: (conversationId, afterSeq, userId) => countUnread(c, conversationId, afterSeq, userId),
    edit: (id, content, editedAt) => edit(c, maxAppendAttempts, id, content, editedAt),
    delete: (id, deletedAt) => deleteMessage(c, maxAppendAttempts, id, deletedAt),
    react: (id, userId, emoji, at, maxDistinct) => react(c, id, userId, emoji, at, maxDistinct),
    unreact: (id, userId, emoji) => unreact(c, id, userId, emoji),
    async listUndeletedBySender(senderId, limit) {
      if (limit <= 0) return [];
      // deletedAt null matches documents without it too (messages stored before edits existed).
      const docs = await c.messages.find({ senderId, deletedAt: null }).limit(limit).toArray();
      return docs.map(toMessage);
    },
  };
}
