/**
 * Edits, deletions and reactions. Revisions (`revisions`) and reactions
 * (`reactions`) are the truth; the message document carries a copy of the
 * state they make, which `refresh` brings in line after every change.
 */
import type { MessageChange, MessageRecord, ReactionRecord } from '../store';
import { isDuplicateKey, toMessage, type Collections, type ReactionDoc, type RevisionDoc } from './documents';

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

const latestRevision = (c: Collections, messageId: string) =>
  c.revisions.find({ messageId }).sort({ rev: -1 }).limit(1).next();

/**
 * Brings the copy on the message document (content, editedAt, deletedAt,
 * reactions) in line with the revisions and reactions, which are the truth:
 * only inserts and deletes decide concurrent changes (see the module comment
 * of ./index.ts). Every writer reads the truth, writes, and reads again until
 * the document matches, so the last write is always checked against the
 * newest truth and the copy cannot settle on an older state.
 */
async function refresh(c: Collections, id: string): Promise<MessageRecord | null> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const [doc, latest, reactions] = await Promise.all([
      c.messages.findOne({ _id: id }),
      latestRevision(c, id),
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
async function refreshed(c: Collections, id: string): Promise<MessageChange> {
  const message = await refresh(c, id);
  return message ? { status: 'ok', message } : { status: 'missing' };
}

/**
 * Inserts the next revision of a message, `next` deciding it from the
 * newest one (null: nothing to insert, return the message as it is).
 */
async function revise(
  c: Collections,
  maxAttempts: number,
  id: string,
  next: (latest: RevisionDoc | null) => Omit<RevisionDoc, '_id' | 'messageId' | 'rev'> | 'deleted' | null,
): Promise<MessageChange> {
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    if ((await c.messages.countDocuments({ _id: id }, { limit: 1 })) === 0) return { status: 'missing' };
    const latest = await latestRevision(c, id);
    const change = next(latest);
    if (change === 'deleted') return { status: 'deleted', message: (await refresh(c, id))! };
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
    return refreshed(c, id);
  }
  throw new Error(`message ${id}: no free revision after ${maxAttempts} attempts`);
}

/** The message unless it is missing or deleted, checked by its newest revision. */
async function changeable(c: Collections, id: string): Promise<MessageChange> {
  const [doc, latest] = await Promise.all([c.messages.findOne({ _id: id }), latestRevision(c, id)]);
  if (!doc) return { status: 'missing' };
  if (latest?.deletedAt) return { status: 'deleted', message: (await refresh(c, id))! };
  return { status: 'ok', message: toMessage(doc) };
}

/** Replaces the content of a message that is not deleted, as its next revision. */
export async function edit(
  c: Collections,
  maxAttempts: number,
  id: string,
  content: string,
  editedAt: Date,
): Promise<MessageChange> {
  return revise(c, maxAttempts, id, (latest) =>
    latest?.deletedAt ? 'deleted' : { content, editedAt, deletedAt: null },
  );
}

/** Deletes a message, as its next revision; idempotent. */
export async function deleteMessage(
  c: Collections,
  maxAttempts: number,
  id: string,
  deletedAt: Date,
): Promise<MessageChange> {
  return revise(c, maxAttempts, id, (latest) =>
    latest?.deletedAt ? null : { content: '', editedAt: latest?.editedAt ?? null, deletedAt },
  );
}

/** Adds `userId`'s reaction with `emoji` unless the message would carry more than `maxDistinct` emoji. */
export async function react(
  c: Collections,
  id: string,
  userId: string,
  emoji: string,
  at: Date,
  maxDistinct: number,
): Promise<MessageChange> {
  const found = await changeable(c, id);
  if (found.status !== 'ok') return found;
  const known = found.message.reactions.some((r) => r.emoji === emoji);
  if (!known && found.message.reactions.length >= maxDistinct) return { status: 'too-many' };
  const _id = `${id}:${userId}:${emoji}`;
  try {
    await c.reactions.insertOne({ _id, messageId: id, userId, emoji, at });
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
    // Reacted already (or concurrently): idempotent.
    return refreshed(c, id);
  }
  if (!known) {
    // Of new emoji added at once, the last to read sees every one that stays (each read follows its own
    // insert), so "withdraw when more than allowed are seen" never leaves more; it may refuse one that fit.
    const docs = await c.reactions.find({ messageId: id }).sort({ at: 1, _id: 1 }).toArray();
    if (groupReactions(docs).length > maxDistinct) {
      await c.reactions.deleteOne({ _id });
      await refresh(c, id);
      return { status: 'too-many' };
    }
  }
  return refreshed(c, id);
}

/** Removes `userId`'s reaction with `emoji`; idempotent. */
export async function unreact(c: Collections, id: string, userId: string, emoji: string): Promise<MessageChange> {
  if ((await c.messages.countDocuments({ _id: id }, { limit: 1 })) === 0) return { status: 'missing' };
  await c.reactions.deleteOne({ _id: `${id}:${userId}:${emoji}` });
  return refreshed(c, id);
}
