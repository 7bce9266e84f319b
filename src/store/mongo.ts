import { MongoNetworkError, MongoNotConnectedError, MongoServerError, MongoServerSelectionError, type Collection, type Db, type Filter } from 'mongodb';
import type {
  AddMembersResult,
  ConversationKind,
  ConversationRecord,
  MembershipRecord,
  MessageRecord,
  NewMessage,
  PushPlatform,
  Store,
  UserRecord,
} from './store';
import { StoreUnavailableError, wrapStore } from './store';

interface UserDoc {
  _id: string;
  username: string;
  displayName: string;
  passwordHash: string;
  createdAt: Date;
}

/** One directed "has added" edge; `_id` is `${userId}:${friendId}`. */
interface FriendDoc {
  _id: string;
  userId: string;
  friendId: string;
}

/**
 * Members are not listed here but in memberships, and the newest message is
 * read from the messages index: both change concurrently, and only inserts
 * and deletes are free of read-modify-write races on every server (FerretDB
 * applies even single-document updates non-atomically).
 */
interface ConversationDoc {
  _id: string;
  kind: ConversationKind;
  title: string | null;
  /** Unique: the sorted member pair for direct conversations, `group:<id>` for groups. */
  pairKey: string;
  createdAt: Date;
  /** For ordering lists only: raised after each message, and may lag a concurrent one. */
  lastActivityAt: Date;
}

/**
 * `_id` is `${conversationId}:${userId}`. `slot` (1 to the group maximum) is
 * unique per conversation: the unique index is what keeps a group from
 * growing past its maximum when members are added concurrently.
 */
interface MembershipDoc {
  _id: string;
  conversationId: string;
  userId: string;
  slot: number;
  joinedSeq: number;
  lastReadSeq: number;
  lastReadMessageId: string | null;
}

interface MessageDoc {
  _id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  content: string;
  clientMessageId: string | null;
  /** Unique per conversation: `c:<sender>:<clientMessageId>`, or `id:<message id>` when there is none. */
  clientKey: string;
  createdAt: Date;
}

interface PushTokenDoc {
  _id: string;
  userId: string;
  platform: PushPlatform;
}

const DUPLICATE_KEY = 11000;

function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY;
}

const membershipId = (conversationId: string, userId: string) => `${conversationId}:${userId}`;
const directPairKey = (a: string, b: string) => (a < b ? `direct:${a}:${b}` : `direct:${b}:${a}`);

function toUser(doc: UserDoc): UserRecord {
  return { id: doc._id, username: doc.username, displayName: doc.displayName, createdAt: doc.createdAt };
}


function toMembership(doc: MembershipDoc): MembershipRecord {
  return {
    conversationId: doc.conversationId,
    userId: doc.userId,
    joinedSeq: doc.joinedSeq,
    lastReadSeq: doc.lastReadSeq,
    // FerretDB drops null fields written by $setOnInsert.
    lastReadMessageId: doc.lastReadMessageId ?? null,
  };
}

function toMessage(doc: MessageDoc): MessageRecord {
  return {
    id: doc._id,
    conversationId: doc.conversationId,
    seq: doc.seq,
    senderId: doc.senderId,
    content: doc.content,
    clientMessageId: doc.clientMessageId ?? null,
    createdAt: doc.createdAt,
  };
}

/** Documents by `_id` in key order, `null` for misses: the DataLoader contract. */
async function byIds<D extends { _id: string }, R>(
  collection: Collection<D>,
  ids: readonly string[],
  map: (doc: D) => R,
): Promise<(R | null)[]> {
  if (ids.length === 0) return [];
  const docs = await collection.find({ _id: { $in: [...new Set(ids)] } } as Filter<D>).toArray();
  const found = new Map<string, R>(docs.map((d) => [(d as D)._id, map(d as D)]));
  return ids.map((id) => found.get(id) ?? null);
}

/** The collections of a chat database. */
export function collections(db: Db) {
  return {
    users: db.collection<UserDoc>('users'),
    friends: db.collection<FriendDoc>('friends'),
    conversations: db.collection<ConversationDoc>('conversations'),
    memberships: db.collection<MembershipDoc>('memberships'),
    messages: db.collection<MessageDoc>('messages'),
    pushTokens: db.collection<PushTokenDoc>('pushTokens'),
  };
}

/**
 * Creates the collections' indexes; idempotent, run at every start. The
 * unique ones carry the guarantees that must hold across processes.
 */
export async function ensureIndexes(db: Db): Promise<void> {
  const c = collections(db);
  await Promise.all([
    c.users.createIndex({ username: 1 }, { unique: true, name: 'username_unique' }),
    c.friends.createIndex({ friendId: 1 }, { name: 'friendId' }),
    c.conversations.createIndex({ pairKey: 1 }, { unique: true, name: 'pairKey_unique' }),
    c.conversations.createIndex({ lastActivityAt: -1, _id: -1 }, { name: 'activity' }),
    c.memberships.createIndex({ conversationId: 1, slot: 1 }, { unique: true, name: 'conversation_slot_unique' }),
    c.memberships.createIndex({ userId: 1 }, { name: 'userId' }),
    c.messages.createIndex({ conversationId: 1, seq: 1 }, { unique: true, name: 'conversation_seq_unique' }),
    c.messages.createIndex({ conversationId: 1, clientKey: 1 }, { unique: true, name: 'conversation_clientKey_unique' }),
    c.pushTokens.createIndex({ userId: 1 }, { name: 'userId' }),
  ]);
}

/** Options of `createMongoStore`. */
export interface MongoStoreOptions {
  /** Called by close(), e.g. to close the client the store was given. @default nothing */
  onClose?: () => Promise<void>;
  /**
   * Attempts to append one message before giving up under extreme contention
   * for the next seq of one conversation. @default 1000
   */
  maxAppendAttempts?: number;
  /** The largest conversation any caller will ask for: slots are 1 to this. @default 100 */
  maxMembers?: number;
}

/**
 * The MongoDB store, on a connected database whose indexes `ensureIndexes`
 * has created. Concurrency control rests on unique indexes alone (an insert
 * either wins or fails with a duplicate key), never on read-modify-write
 * updates, and multi-document writes are ordered so that a crash between them
 * leaves nothing a reader would trust wrongly. There are no transactions:
 * FerretDB has none.
 */
export function createMongoStore(db: Db, options: MongoStoreOptions = {}): Store {
  // Calls fail with StoreUnavailableError when the server cannot be reached.
  return wrapStore(buildMongoStore(db, options), async (call) => {
    try {
      return await call();
    } catch (error) {
      throw isConnectivityError(error) ? new StoreUnavailableError(error) : error;
    }
  });
}

function isConnectivityError(error: unknown): boolean {
  return (
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNetworkError ||
    error instanceof MongoNotConnectedError
  );
}

function buildMongoStore(db: Db, options: MongoStoreOptions): Store {
  const c = collections(db);
  const maxAppendAttempts = options.maxAppendAttempts ?? 1000;
  const maxSlots = options.maxMembers ?? 100;
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

  /** The newest message of a conversation, by the (conversation, seq) index. */
  function newestMessage(conversationId: string): Promise<MessageDoc | null> {
    return c.messages.find({ conversationId }).sort({ seq: -1 }).limit(1).next();
  }

  /** Conversation records: members from memberships (in slot order), newest message from the messages index. */
  async function hydrate(docs: ConversationDoc[]): Promise<ConversationRecord[]> {
    if (docs.length === 0) return [];
    const ids = docs.map((d) => d._id);
    const [memberships, newest] = await Promise.all([
      c.memberships.find({ conversationId: { $in: ids } }, { projection: { conversationId: 1, userId: 1, slot: 1 } }).toArray(),
      Promise.all(ids.map(newestMessage)),
    ]);
    const members = new Map<string, MembershipDoc[]>();
    for (const m of memberships) members.set(m.conversationId, [...(members.get(m.conversationId) ?? []), m]);
    return docs.map((doc, i) => {
      const last = newest[i] ?? null;
      return {
        id: doc._id,
        kind: doc.kind,
        title: doc.title,
        memberIds: (members.get(doc._id) ?? []).sort((a, b) => a.slot - b.slot).map((m) => m.userId),
        createdAt: doc.createdAt,
        lastSeq: last?.seq ?? 0,
        lastMessageId: last?._id ?? null,
        lastActivityAt: last && last.createdAt > doc.lastActivityAt ? last.createdAt : doc.lastActivityAt,
      };
    });
  }

  async function getConversations(ids: readonly string[]): Promise<(ConversationRecord | null)[]> {
    const docs = (await byIds(c.conversations, ids, (d) => d)).filter((d): d is ConversationDoc => d !== null);
    const records = new Map((await hydrate(docs)).map((r) => [r.id, r]));
    return ids.map((id) => records.get(id) ?? null);
  }

  /**
   * Makes `userIds` members, each in a free slot, all or none. A batch that
   * runs out of slots because a concurrent add took some gives its own back
   * and tries again after a random pause, counting afresh: so two adds that
   * fit only one at a time end with one added and one refused, never both
   * refused, and never more members than slots.
   */
  async function join(conversationId: string, userIds: readonly string[], maxMembers: number): Promise<{ ok: true } | { ok: false; memberCount: number }> {
    const limit = Math.min(maxMembers, maxSlots);
    const wanted = [...new Set(userIds)];
    const joinedSeq = (await newestMessage(conversationId))?.seq ?? 0;
    for (let attempt = 0; ; attempt++) {
      const current = await readSlots(conversationId);
      const missing = wanted.filter((id) => !current.some((m) => m.userId === id));
      const memberCount = current.length + missing.length;
      if (memberCount > limit) return { ok: false, memberCount };
      if (await takeSlots(conversationId, missing, limit, joinedSeq, current)) return { ok: true };
      if (attempt === 20) return { ok: false, memberCount };
      await new Promise((r) => setTimeout(r, Math.random() * 10 * (attempt + 1)));
    }
  }

  /** Who holds which slot of a conversation. */
  async function readSlots(conversationId: string): Promise<{ userId: string; slot: number }[]> {
    return c.memberships.find({ conversationId }, { projection: { userId: 1, slot: 1 } }).toArray();
  }

  /**
   * Inserts a membership in a free slot for each user, starting from `current`
   * and reading the slots again only when an insert loses a race; false, with
   * all of them removed again, if the slots ran out.
   */
  async function takeSlots(
    conversationId: string,
    userIds: readonly string[],
    limit: number,
    joinedSeq: number,
    current: { userId: string; slot: number }[],
  ): Promise<boolean> {
    const taken: string[] = [];
    let slots = [...current];
    for (const userId of userIds) {
      const _id = membershipId(conversationId, userId);
      for (;;) {
        if (slots.some((m) => m.userId === userId)) break;
        const used = new Set(slots.map((m) => m.slot));
        let slot = 1;
        while (used.has(slot)) slot++;
        if (slot > limit) {
          await c.memberships.deleteMany({ _id: { $in: taken } });
          return false;
        }
        try {
          await c.memberships.insertOne({ _id, conversationId, userId, slot, joinedSeq, lastReadSeq: 0, lastReadMessageId: null });
          taken.push(_id);
          slots.push({ userId, slot });
          break;
        } catch (error) {
          // Someone took the slot, or added this user, first: look again.
          if (!isDuplicateKey(error)) throw error;
          slots = await readSlots(conversationId);
        }
      }
    }
    return true;
  }

  async function insertConversation(doc: ConversationDoc, memberIds: readonly string[]): Promise<boolean> {
    // Memberships first, then the document: a crash in between leaves memberships of a
    // conversation that does not exist, which no listing shows (it joins on the documents).
    const joined = await join(doc._id, memberIds, maxSlots);
    if (!joined.ok) throw new Error(`conversation ${doc._id}: more than ${maxSlots} members`);
    try {
      await c.conversations.insertOne(doc);
      return true;
    } catch (error) {
      await c.memberships.deleteMany({ conversationId: doc._id });
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** Memberships by (conversation, user) key, in key order. */
  async function getMemberships(keys: readonly { conversationId: string; userId: string }[]): Promise<(MembershipRecord | null)[]> {
    return byIds(c.memberships, keys.map((k) => membershipId(k.conversationId, k.userId)), toMembership);
  }

  async function findByClientKey(conversationId: string, clientKey: string): Promise<MessageRecord | null> {
    const doc = await c.messages.findOne({ conversationId, clientKey });
    return doc ? toMessage(doc) : null;
  }

  async function appendOnce(input: NewMessage): Promise<{ message: MessageRecord; created: boolean }> {
    const clientKey = input.clientMessageId === null ? `id:${input.id}` : `c:${input.senderId}:${input.clientMessageId}`;
    if (input.clientMessageId !== null) {
      const original = await findByClientKey(input.conversationId, clientKey);
      if (original) return { message: original, created: false };
    }
    for (let attempt = 0; attempt < maxAppendAttempts; attempt++) {
      // The next seq follows the newest stored one. Seq n is only ever inserted after n - 1
      // is stored, so commit order is seq order; (conversation, seq) is unique, so two
      // processes that read the same newest seq cannot both insert the next.
      const newest = await newestMessage(input.conversationId);
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
        if (attempt > 3) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, attempt * 2)));
        continue;
      }
      await c.conversations.updateOne({ _id: input.conversationId }, { $max: { lastActivityAt: doc.createdAt } });
      return { message: toMessage(doc), created: true };
    }
    throw new Error(`append: no free seq in conversation ${input.conversationId} after ${maxAppendAttempts} attempts`);
  }

  /** An upsert that two processes may race: the loser's duplicate key means the winner did the same. */
  async function upsertOnce(write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      await write();
    }
  }

  return {
    users: {
      async create(input) {
        const { id, ...fields } = input;
        const doc: UserDoc = { _id: id, ...fields };
        try {
          await c.users.insertOne(doc);
        } catch (error) {
          if (isDuplicateKey(error)) return null;
          throw error;
        }
        return toUser(doc);
      },
      getMany: (ids) => byIds(c.users, ids, toUser),
      async findCredentials(username) {
        const doc = await c.users.findOne({ username });
        return doc ? { user: toUser(doc), passwordHash: doc.passwordHash } : null;
      },
      async searchByPrefix(prefix, limit) {
        if (limit <= 0) return [];
        // A range on the username index: every username character sorts below '{'.
        const docs = await c.users.find({ username: { $gte: prefix, $lt: `${prefix}{` } }).sort({ username: 1 }).limit(limit).toArray();
        return docs.map(toUser);
      },
    },

    friends: {
      async add(userId, friendId) {
        await upsertOnce(() => c.friends.updateOne({ _id: `${userId}:${friendId}` }, { $setOnInsert: { userId, friendId } }, { upsert: true }));
      },
      async remove(userId, friendId) {
        await c.friends.deleteMany({ _id: { $in: [`${userId}:${friendId}`, `${friendId}:${userId}`] } });
      },
      async listMutual(userId) {
        const addedMe = await c.friends.find({ friendId: userId }).toArray();
        if (addedMe.length === 0) return [];
        const mine = await c.friends.find({ _id: { $in: addedMe.map((d) => `${userId}:${d.userId}`) } }).toArray();
        return mine.map((d) => d.friendId);
      },
    },

    conversations: {
      getMany: getConversations,
      async findOrCreateDirect({ id, userIds: [a, b], createdAt }) {
        const pairKey = directPairKey(a, b);
        for (;;) {
          const existing = await c.conversations.findOne({ pairKey });
          if (existing) return (await hydrate([existing]))[0]!;
          const doc: ConversationDoc = { _id: id, kind: 'DIRECT', title: null, pairKey, createdAt, lastActivityAt: createdAt };
          if (await insertConversation(doc, [a, b])) return (await hydrate([doc]))[0]!;
        }
      },
      async createGroup({ id, title, memberIds, createdAt }) {
        const doc: ConversationDoc = { _id: id, kind: 'GROUP', title, pairKey: `group:${id}`, createdAt, lastActivityAt: createdAt };
        if (!(await insertConversation(doc, memberIds))) throw new Error(`createGroup: id ${id} exists`);
        return (await hydrate([doc]))[0]!;
      },
      async addMembers(conversationId, userIds, maxMembers): Promise<AddMembersResult> {
        const doc = await c.conversations.findOne({ _id: conversationId });
        if (!doc) return { status: 'missing' };
        if (doc.kind !== 'GROUP') return { status: 'not-a-group' };
        const joined = await join(conversationId, userIds, maxMembers);
        if (!joined.ok) return { status: 'too-many', memberCount: joined.memberCount };
        return { status: 'ok', conversation: (await hydrate([doc]))[0]! };
      },
      async removeMember(conversationId, userId) {
        await c.memberships.deleteOne({ _id: membershipId(conversationId, userId) });
      },
      getMemberships,
      async listForUser(userId, { first, after }) {
        if (first <= 0) return [];
        const ids = (await c.memberships.find({ userId }, { projection: { conversationId: 1 } }).toArray()).map((m) => m.conversationId);
        if (ids.length === 0) return [];
        const filter: Filter<ConversationDoc> = { _id: { $in: ids } };
        if (after) {
          filter.$or = [{ lastActivityAt: { $lt: after.lastActivityAt } }, { lastActivityAt: after.lastActivityAt, _id: { $lt: after.id } }];
        }
        return hydrate(await c.conversations.find(filter).sort({ lastActivityAt: -1, _id: -1 }).limit(first).toArray());
      },
      async listAllForUser(userId) {
        const ids = (await c.memberships.find({ userId }, { projection: { conversationId: 1 } }).toArray()).map((m) => m.conversationId);
        return (await getConversations(ids)).filter((r): r is ConversationRecord => r !== null);
      },
      async markRead(conversationId, userId, seq, messageId) {
        const _id = membershipId(conversationId, userId);
        // Forward only. Two devices marking at once may both write; the position then
        // settles on the later write, which is at worst the lower of two read marks.
        await c.memberships.updateOne({ _id, lastReadSeq: { $lt: seq } }, { $set: { lastReadSeq: seq, lastReadMessageId: messageId } });
        const doc = await c.memberships.findOne({ _id });
        return doc ? toMembership(doc) : null;
      },
    },

    messages: {
      append: (input) => serialized(input.conversationId, () => appendOnce(input)),
      getMany: (ids) => byIds(c.messages, ids, toMessage),
      async page(conversationId, { afterSeq, beforeSeq, limit, from }) {
        if (limit <= 0) return [];
        const seq: { $gt?: number; $lt?: number } = {};
        if (afterSeq !== undefined) seq.$gt = afterSeq;
        if (beforeSeq !== undefined) seq.$lt = beforeSeq;
        const filter: Filter<MessageDoc> = { conversationId, ...(afterSeq !== undefined || beforeSeq !== undefined ? { seq } : {}) };
        const docs = await c.messages.find(filter).sort({ seq: from === 'oldest' ? 1 : -1 }).limit(limit).toArray();
        if (from === 'newest') docs.reverse();
        return docs.map(toMessage);
      },
      async countUnread(conversationId, afterSeq, userId) {
        return c.messages.countDocuments({ conversationId, seq: { $gt: afterSeq }, senderId: { $ne: userId } });
      },
    },

    pushTokens: {
      async register({ token, userId, platform }) {
        await upsertOnce(() => c.pushTokens.replaceOne({ _id: token }, { userId, platform }, { upsert: true }));
      },
      async unregister(userId, token) {
        await c.pushTokens.deleteOne({ _id: token, userId });
      },
      async listForUsers(userIds) {
        if (userIds.length === 0) return [];
        const docs = await c.pushTokens.find({ userId: { $in: [...userIds] } }).toArray();
        return docs.map((d) => ({ token: d._id, userId: d.userId, platform: d.platform }));
      },
    },

    async close() {
      await options.onClose?.();
    },
  };
}
