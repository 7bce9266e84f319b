/**
 * The documents of a chat database, derived from the store's records, and the
 * helpers every collection's module shares. Driver types stay in this folder.
 */
import { MongoServerError, type Collection, type Db, type Filter } from 'mongodb';
import type {
  AddPolicy,
  ConversationRecord,
  KeyPackageRecord,
  MlsGroupRecord,
  MembershipRecord,
  MessageRecord,
  PushTokenRecord,
  ReportRecord,
  SessionEndReason,
  SessionRecord,
  UploadCompletion,
  UploadRecord,
  UserRecord,
} from '../store';

/** A user and their password hash; `_id` is the user id. `deletedAt` is absent until the account is deleted. */
export type UserDoc = Omit<UserRecord, 'id' | 'deletedAt' | 'avatarKey'> & {
  _id: string;
  passwordHash: string;
  deletedAt?: Date | null;
  /** Absent when the user has no avatar (and on users from before avatars). */
  avatarKey?: string;
};

/** One directed "has added" edge; `_id` is `${userId}:${friendId}`. */
export interface FriendDoc {
  _id: string;
  userId: string;
  friendId: string;
}

/**
 * Members are not listed here but in memberships, and the newest message is
 * read from the messages index: both change concurrently, and only inserts
 * and deletes are free of read-modify-write races on every server (FerretDB
 * applies even single-document updates non-atomically). `lastActivityAt` is
 * for ordering lists only: raised after each message, it may lag a concurrent one.
 */
export type ConversationDoc = Pick<ConversationRecord, 'kind' | 'title' | 'createdAt' | 'lastActivityAt'> & {
  _id: string;
  /** Unique: the sorted member pair for direct conversations, `group:<id>` for groups. */
  pairKey: string;
};

/**
 * `_id` is `${conversationId}:${userId}`. `slot` (1 to the group maximum) is
 * unique per conversation: the unique index is what keeps a group from
 * growing past its maximum when members are added concurrently.
 */
export type MembershipDoc = Omit<MembershipRecord, 'mutedUntil' | 'joinedAt'> & {
  _id: string;
  slot: number;
  /** Absent on memberships from before mutes, and where FerretDB dropped a null. */
  mutedUntil?: Date | null;
  /** Absent on memberships from before it was kept. */
  joinedAt?: Date | null;
};

/** A message; `_id` is its Snowflake id. */
export type MessageDoc = Omit<
  MessageRecord,
  'id' | 'editedAt' | 'deletedAt' | 'reactions' | 'replyToId' | 'mentionIds' | 'attachmentIds' | 'mls'
> &
  Partial<
    Pick<MessageRecord, 'editedAt' | 'deletedAt' | 'reactions' | 'replyToId' | 'mentionIds' | 'attachmentIds' | 'mls'>
  > & {
    _id: string;
    /**
     * Unique per conversation: `c:<sender>:<clientMessageId>`, or `id:<message id>` when there is none;
     * `mls-epoch:<epoch>` for an MLS commit, so that one commit per epoch is stored.
     */
    clientKey: string;
  };

/** An encrypted conversation's MLS group; `_id` is the conversation id. */
export type MlsGroupDoc = Omit<MlsGroupRecord, 'conversationId'> & { _id: string };

/** The claim of one KeyPackage (`_id` its ref): inserted once, by the one claim that gets it. */
export interface KeyPackageClaimDoc {
  _id: string;
  sessionId: string;
  claimedAt: Date;
}

/** A KeyPackage of the directory; `_id` is its ref. */
export type KeyPackageDoc = Omit<KeyPackageRecord, 'ref' | 'claimedAt'> & { _id: string; claimedAt?: Date | null };

/**
 * One state of a message's content after it was sent: edits and the deletion
 * are inserted as revisions 1, 2, 3, ... and (messageId, rev) is unique, so
 * that concurrent changes are ordered by which insert wins. The message
 * document carries a copy of the newest one (see messageChanges.ts).
 */
export interface RevisionDoc {
  /** `${messageId}:${rev}`. */
  _id: string;
  messageId: string;
  rev: number;
  content: string;
  editedAt: Date | null;
  deletedAt: Date | null;
}

/** One user's reaction with one emoji; `_id` is `${messageId}:${userId}:${emoji}`, so adding twice is one. */
export interface ReactionDoc {
  _id: string;
  messageId: string;
  userId: string;
  emoji: string;
  at: Date;
}

/** `blockerId` has blocked `blockedId`; `_id` is `${blockerId}:${blockedId}`. */
export interface BlockDoc {
  _id: string;
  blockerId: string;
  blockedId: string;
  at: Date;
}

/**
 * A device token; `_id` is the token. `registeredAt` is when its owner last
 * registered it (absent on tokens stored before it was kept).
 */
export type PushTokenDoc = Omit<PushTokenRecord, 'token'> & { _id: string; registeredAt?: Date };

/**
 * A session's fields that never change, and `lastUsedAt` (raised by `touch`,
 * best effort); `_id` is the session id. Whether it has ended and when its
 * token expires are read from `sessionEnds` and `sessionTokens`, written by
 * inserts only (see sessions.ts).
 */
export type SessionDoc = Pick<SessionRecord, 'userId' | 'createdAt' | 'lastUsedAt' | 'deviceName'> & { _id: string };

/**
 * One refresh token of a session, current or spent; `_id` is its hash.
 * (sessionId, generation) is unique: a rotation inserts generation n + 1, so
 * of concurrent rotations of one token exactly one insert wins.
 */
export interface SessionTokenDoc {
  _id: string;
  sessionId: string;
  generation: number;
  issuedAt: Date;
  expiresAt: Date;
}

/**
 * A session's end; `_id` is the session id, so the first end is the one that
 * stays. `generation` is the newest token generation the ender saw: a
 * rotation to a later one happened before the end.
 */
export interface SessionEndDoc {
  _id: string;
  userId: string;
  at: Date;
  because: SessionEndReason;
  generation: number;
}

/**
 * One version of a group's control: `_id` is `${conversationId}:${version}`,
 * so of two changes decided on one version, only one insert of the next
 * succeeds (the other decides again on it). The newest version is the state.
 */
export interface GroupControlDoc {
  _id: string;
  conversationId: string;
  version: number;
  ownerId: string | null;
  adminIds: string[];
  addPolicy: AddPolicy;
  /** The member this change removes, if any. */
  removeId?: string;
  /** Set once that member's membership is gone: until then, the next change (or reader) finishes it first. */
  removeDone?: boolean;
}

/** A report; `_id` is its Snowflake id. The message snapshot is stored whole, as the record has it. */
export type ReportDoc = Omit<ReportRecord, 'id'> & { _id: string };

/** An account's suspension; `_id` is the user id, so that the first suspension is the one that stays. */
export interface SuspensionDoc {
  _id: string;
  by: string;
  reason: string;
  at: Date;
}

/**
 * An account's deletion; `_id` is the user id. Inserted when it starts;
 * `finishedAt` is set once every step is done (absent until then).
 */
export interface AccountDeletionDoc {
  _id: string;
  startedAt: Date;
  finishedAt?: Date | null;
}

/**
 * An upload; `_id` is its id. Who claimed it is not here but in `uploadClaims`,
 * whose inserts decide races; `claimed` is only a hint that keeps claimed
 * uploads out of the sweeper's reads.
 */
export type UploadDoc = Omit<UploadRecord, 'id' | 'completion' | 'holder'> & {
  _id: string;
  /** Absent until completed (FerretDB drops nulls). */
  completion?: UploadCompletion;
  claimed?: true;
};

/** The one claim an upload can have; `_id` is the upload id, so the first insert wins. */
export interface UploadClaimDoc {
  _id: string;
  holder: string;
  at: Date;
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
    revisions: db.collection<RevisionDoc>('revisions'),
    reactions: db.collection<ReactionDoc>('reactions'),
    blocks: db.collection<BlockDoc>('blocks'),
    sessions: db.collection<SessionDoc>('sessions'),
    sessionTokens: db.collection<SessionTokenDoc>('sessionTokens'),
    sessionEnds: db.collection<SessionEndDoc>('sessionEnds'),
    groupControls: db.collection<GroupControlDoc>('groupControls'),
    reports: db.collection<ReportDoc>('reports'),
    suspensions: db.collection<SuspensionDoc>('suspensions'),
    accountDeletions: db.collection<AccountDeletionDoc>('accountDeletions'),
    uploads: db.collection<UploadDoc>('uploads'),
    uploadClaims: db.collection<UploadClaimDoc>('uploadClaims'),
    mlsGroups: db.collection<MlsGroupDoc>('mlsGroups'),
    keyPackages: db.collection<KeyPackageDoc>('keyPackages'),
    keyPackageClaims: db.collection<KeyPackageClaimDoc>('keyPackageClaims'),
  };
}

/** The collections, as every module of this folder receives them. */
export type Collections = ReturnType<typeof collections>;

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
    c.messages.createIndex(
      { conversationId: 1, clientKey: 1 },
      { unique: true, name: 'conversation_clientKey_unique' },
    ),
    c.pushTokens.createIndex({ userId: 1 }, { name: 'userId' }),
    c.revisions.createIndex({ messageId: 1, rev: 1 }, { unique: true, name: 'message_rev_unique' }),
    c.reactions.createIndex({ messageId: 1, at: 1 }, { name: 'message_at' }),
    c.blocks.createIndex({ blockerId: 1, at: -1 }, { name: 'blocker_at' }),
    c.sessions.createIndex({ userId: 1 }, { name: 'userId' }),
    c.sessionTokens.createIndex({ sessionId: 1, generation: 1 }, { unique: true, name: 'session_generation_unique' }),
    c.sessionEnds.createIndex({ userId: 1 }, { name: 'userId' }),
    uploadIndexes(db),
  ]);
}

/** The indexes of uploads (migration 2). */
export async function uploadIndexes(db: Db): Promise<void> {
  const c = collections(db);
  await Promise.all([
    c.uploads.createIndex({ createdAt: 1, _id: 1 }, { name: 'createdAt' }),
    c.uploadClaims.createIndex({ holder: 1 }, { name: 'holder' }),
  ]);
}

/** The index of the KeyPackage directory (migration 5): a session's unclaimed ones, oldest first. */
export async function ensureKeyPackageIndexes(db: Db): Promise<void> {
  const c = collections(db);
  await Promise.all([
    c.keyPackages.createIndex(
      { sessionId: 1, lastResort: 1, claimedAt: 1, createdAt: 1 },
      { name: 'session_unclaimed' },
    ),
    c.keyPackageClaims.createIndex({ sessionId: 1 }, { name: 'sessionId' }),
  ]);
}

/** The indexes of reports and account deletions (migration 2). Idempotent. */
/** The index of group control versions (migration 3): the newest version of a group is read on every change. */
export async function ensureGroupControlIndexes(db: Db): Promise<void> {
  await collections(db).groupControls.createIndex({ conversationId: 1, version: -1 }, { name: 'conversation_version' });
}

export async function ensureModerationIndexes(db: Db): Promise<void> {
  const c = collections(db);
  await Promise.all([
    c.reports.createIndex({ createdAt: -1, _id: -1 }, { name: 'newest' }),
    // What an account's deletion pages through: the sender's messages.
    c.messages.createIndex({ senderId: 1 }, { name: 'senderId' }),
    c.accountDeletions.createIndex({ finishedAt: 1, startedAt: 1 }, { name: 'unfinished' }),
  ]);
}

const DUPLICATE_KEY = 11000;

/** Whether an insert or upsert lost to a unique index. */
export function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY;
}

/**
 * Whether a duplicate-key error fired on a unique index over `field`: true or
 * false when the server says which (MongoDB's keyPattern), null when it does
 * not (FerretDB 1.24), for the caller to find out by reading instead of guessing.
 */
export function duplicateOn(error: unknown, field: string): boolean | null {
  const pattern = (error as { keyPattern?: Record<string, unknown> }).keyPattern;
  return pattern && typeof pattern === 'object' ? field in pattern : null;
}

/** An upsert that two processes may race: the loser's duplicate key means the winner did the same. */
export async function upsertOnce(write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
    await write();
  }
}

/** Documents by `_id` in key order, `null` for misses: the DataLoader contract. */
export async function byIds<D extends { _id: string }, R>(
  collection: Collection<D>,
  ids: readonly string[],
  map: (doc: D) => R,
): Promise<(R | null)[]> {
  if (ids.length === 0) return [];
  const docs = await collection.find({ _id: { $in: [...new Set(ids)] } } as Filter<D>).toArray();
  const found = new Map<string, R>(docs.map((d) => [(d as D)._id, map(d as D)]));
  return ids.map((id) => found.get(id) ?? null);
}

/** The newest message of a conversation, by the (conversation, seq) index. */
export function newestMessage(c: Collections, conversationId: string): Promise<MessageDoc | null> {
  return c.messages.find({ conversationId }).sort({ seq: -1 }).limit(1).next();
}

/** The id of a (conversation, user) membership document. */
export const membershipId = (conversationId: string, userId: string) => `${conversationId}:${userId}`;

/** A stored message as a record. */
export function toMessage({ _id, clientKey: _key, ...fields }: MessageDoc): MessageRecord {
  // Fields that FerretDB drops when null, or that messages stored before edits existed lack.
  return {
    id: _id,
    ...fields,
    clientMessageId: fields.clientMessageId ?? null,
    editedAt: fields.editedAt ?? null,
    deletedAt: fields.deletedAt ?? null,
    reactions: fields.reactions ?? [],
    replyToId: fields.replyToId ?? null,
    mentionIds: fields.mentionIds ?? [],
    attachmentIds: fields.attachmentIds ?? [],
    mls: fields.mls ?? null,
  };
}

/** A stored membership as a record. */
export function toMembership({ _id, slot: _slot, ...fields }: MembershipDoc): MembershipRecord {
  // FerretDB drops null fields written by $setOnInsert.
  return {
    ...fields,
    lastReadMessageId: fields.lastReadMessageId ?? null,
    mutedUntil: fields.mutedUntil ?? null,
    joinedAt: fields.joinedAt ?? null,
  };
}
