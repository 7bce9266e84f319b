/**
 * exportMyData's file: one JSON document of a user's data, written to the media store as it is
 * read from the store, so that neither its size nor the user's history is ever held at once.
 *
 * {
 *   "exportedAt": ISO time,
 *   "profile": { id, username, displayName, createdAt },
 *   "friends": [user], "blocked": [user],        user: { id, username, displayName }
 *   "conversations": [{ id, kind, title, createdAt, members: [user],
 *                       messages: [{ id, seq, createdAt, editedAt, content, replyToId, attachmentIds }] }]
 * }
 *
 * `messages` are the user's own, in seq order; deleted ones are left out (their content is erased,
 * and deleting a message is asking for it not to be kept). Others' messages are never written.
 */
import type { MediaStore } from '../media/media';
import type { ConversationRecord, MessageRecord, Store, UserRecord } from '../store/store';

/** What writing an export needs. */
export interface ExportDeps {
  store: Store;
  media: MediaStore;
  now: () => Date;
}

/** Messages read from the store at once (of every sender: a conversation's history is paged by seq). */
const MESSAGE_PAGE = 500;

/** Users read at once (friends, blocked users). */
const USER_PAGE = 100;

/** The JSON is handed to the media store in pieces of about this many bytes. */
const PIECE_BYTES = 64 * 1024;

/**
 * The one object of the user's export: each export replaces the previous one, so an account holds
 * at most one however often it exports (no sweeper needed), and its deletion removes it.
 */
export function exportKeyOf(userId: string): string {
  return `exports/${userId.replace(/[^A-Za-z0-9_-]/g, '_')}/data`;
}

/** The name the download is saved under. */
export function exportFileName(user: UserRecord, at: Date): string {
  return `chat-export-${user.username}-${at.toISOString().slice(0, 10)}.json`;
}

/** Writes the user's export to `exportKeyOf(user.id)`; its size in bytes. */
export function writeDataExport(deps: ExportDeps, user: UserRecord): Promise<number> {
  return deps.media.putStream(
    exportKeyOf(user.id),
    inPieces(exportText(deps.store, user, deps.now())),
    'application/json',
  );
}

const userEntry = (u: UserRecord) => ({ id: u.id, username: u.username, displayName: u.displayName });

const messageEntry = (m: MessageRecord) => ({
  id: m.id,
  seq: m.seq,
  createdAt: m.createdAt,
  editedAt: m.editedAt,
  content: m.content,
  replyToId: m.replyToId,
  attachmentIds: m.attachmentIds,
});

/** The users with these ids that exist, read a page at a time, in id order. */
async function usersOf(store: Store, ids: readonly string[]): Promise<UserRecord[]> {
  const found: UserRecord[] = [];
  for (let i = 0; i < ids.length; i += USER_PAGE) {
    const page = await store.users.getMany(ids.slice(i, i + USER_PAGE));
    found.push(...page.filter((u) => u !== null));
  }
  return found;
}

/** The export's JSON text, in order, a few hundred bytes to a message's worth at a time. */
async function* exportText(store: Store, user: UserRecord, at: Date): AsyncGenerator<string> {
  const friends = await usersOf(store, await store.friends.listMutual(user.id));
  const blocked = await usersOf(store, await store.blocks.listBlocked(user.id));
  yield `{"exportedAt":${JSON.stringify(at)},"profile":${JSON.stringify({ ...userEntry(user), createdAt: user.createdAt })}`;
  yield `,"friends":${JSON.stringify(friends.map(userEntry))},"blocked":${JSON.stringify(blocked.map(userEntry))}`;
  yield ',"conversations":[';
  const conversations = (await store.conversations.listAllForUser(user.id)).sort(
    (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id),
  );
  for (const [i, conversation] of conversations.entries()) {
    if (i > 0) yield ',';
    yield* conversationText(store, user.id, conversation);
  }
  yield ']}\n';
}

async function* conversationText(store: Store, userId: string, c: ConversationRecord): AsyncGenerator<string> {
  const members = await usersOf(store, c.memberIds);
  const head = { id: c.id, kind: c.kind, title: c.title, createdAt: c.createdAt, members: members.map(userEntry) };
  yield `${JSON.stringify(head).slice(0, -1)},"messages":[`;
  let first = true;
  for (let afterSeq = 0; ; ) {
    const page = await store.messages.page(c.id, { afterSeq, limit: MESSAGE_PAGE, from: 'oldest' });
    if (page.length === 0) break;
    afterSeq = page[page.length - 1]!.seq;
    for (const m of page) {
      if (m.senderId !== userId || m.deletedAt !== null) continue;
      yield `${first ? '' : ','}${JSON.stringify(messageEntry(m))}`;
      first = false;
    }
  }
  yield ']}';
}

/** The text as UTF-8 pieces of about PIECE_BYTES: fewer, larger writes than one per message. */
async function* inPieces(text: AsyncIterable<string>): AsyncGenerator<Buffer> {
  let held: string[] = [];
  let length = 0;
  for await (const part of text) {
    held.push(part);
    length += part.length;
    if (length >= PIECE_BYTES) {
      yield Buffer.from(held.join(''));
      [held, length] = [[], 0];
    }
  }
  if (length > 0) yield Buffer.from(held.join(''));
}
