/**
 * The persistence boundary: plain records and narrow async operations in the
 * chat domain's words. One implementation per backend (memory/, mongo/),
 * all held to the same conformance suites (test/backends/*.conformance.ts); records.ts holds the records. Driver
 * types never leave an implementation; an unreachable server surfaces as
 * `UnavailableError` (lib/unavailable.ts).
 *
 * Rules every implementation keeps:
 * - Records are copies: mutating one never changes what the store holds.
 * - `getMany(keys)` returns one entry per key, in key order, `null` for a miss
 *   (the DataLoader contract).
 * - Uniqueness (usernames, one direct conversation per pair, (conversation,
 *   seq), (sender, conversation, clientMessageId)) holds across processes,
 *   not only inside one.
 */

import type {
  UserRecord,
  ConversationRecord,
  MembershipRecord,
  MessageRecord,
  PushTokenRecord,
  NewUser,
  NewMessage,
  MessageChange,
  ConversationPosition,
  MessageRange,
  AddMembersResult,
  SessionEndReason,
  SessionRecord,
  NewSession,
  RotateResult,
  GroupControl,
  ControlDecision,
  ControlOutcome,
  ReportRecord,
  ReportPosition,
  SuspensionRecord,
  AccountDeletionRecord,
  UploadRecord,
  MlsGroupRecord,
  KeyPackageRecord,
  NewUpload,
  UploadCompletion,
  ClaimResult,
} from './records';

export * from './records';

/** Accounts. */
export interface UserStore {
  /** Creates the user; `null` when the username is taken. */
  create(user: NewUser): Promise<UserRecord | null>;
  getMany(ids: readonly string[]): Promise<(UserRecord | null)[]>;
  /** The user and password hash for a (lowercase) username, for logging in. */
  findCredentials(username: string): Promise<{ user: UserRecord; passwordHash: string } | null>;
  /** Replaces the user's display name; the user as now, `null` if unknown. */
  setDisplayName(id: string, displayName: string): Promise<UserRecord | null>;
  /**
   * Sets (or with null removes) the user's avatar key; the user as now and the key it replaced,
   * `null` if the user is unknown.
   */
  setAvatar(id: string, avatarKey: string | null): Promise<{ user: UserRecord; previousKey: string | null } | null>;
  /** Users whose username starts with the (lowercase) prefix, in username order. */
  searchByPrefix(prefix: string, limit: number): Promise<UserRecord[]>;
  /**
   * Turns the account into a "Deleted user": sets `deletedAt` (the first time
   * stays) and the display name. The username stays taken. `null` if unknown.
   */
  markDeleted(id: string, at: Date, displayName: string): Promise<UserRecord | null>;
}

/** The directed "has added as a friend" relation; friends are mutual pairs. */
export interface FriendStore {
  /** Idempotent. */
  add(userId: string, friendId: string): Promise<void>;
  /** Removes the edge in both directions, so that the pair is no longer friends. Idempotent. */
  remove(userId: string, friendId: string): Promise<void>;
  /** Ids of users who have added `userId` and whom `userId` has added. */
  listMutual(userId: string): Promise<string[]>;
}

/** Conversations, their members and each member's read position. */
export interface ConversationStore {
  getMany(ids: readonly string[]): Promise<(ConversationRecord | null)[]>;
  /**
   * The one direct conversation of the two users, created with `id` and
   * `createdAt` when there is none yet. Concurrent calls for the same pair,
   * in either order, return the same conversation.
   */
  findOrCreateDirect(input: { id: string; userIds: [string, string]; createdAt: Date }): Promise<ConversationRecord>;
  /** A group, or with `kind: 'ENCRYPTED'` an encrypted one (whose MLS group is in MlsStore; its title may be null). */
  createGroup(input: {
    id: string;
    title: string | null;
    memberIds: string[];
    createdAt: Date;
    kind?: 'GROUP' | 'ENCRYPTED';
  }): Promise<ConversationRecord>;
  /**
   * Adds members to a group unless that would make it larger than `maxMembers`, atomically.
   * Their live delivery starts after `joinedAfterSeq` (default: the newest message).
   */
  addMembers(
    conversationId: string,
    userIds: readonly string[],
    maxMembers: number,
    joinedAfterSeq?: number,
  ): Promise<AddMembersResult>;
  /** Removes a member and their read position. Idempotent. */
  removeMember(conversationId: string, userId: string): Promise<void>;
  /** Memberships for (conversation, user) pairs, `null` where the user is not a member. */
  getMemberships(keys: readonly { conversationId: string; userId: string }[]): Promise<(MembershipRecord | null)[]>;
  /** The user's conversations, most recent activity first, starting after `after`. */
  listForUser(userId: string, page: { first: number; after?: ConversationPosition }): Promise<ConversationRecord[]>;
  /** Every conversation the user belongs to, in no particular order. */
  listAllForUser(userId: string): Promise<ConversationRecord[]>;
  /**
   * Moves the read position forward to (seq, messageId); never backwards.
   * `advanced` says whether this call moved it. `null` if not a member.
   */
  markRead(
    conversationId: string,
    userId: string,
    seq: number,
    messageId: string,
  ): Promise<{ membership: MembershipRecord; advanced: boolean } | null>;
  /**
   * Mutes the conversation for the member until `until` (null: unmutes).
   * The membership as it is now; `null` if not a member.
   */
  setMute(conversationId: string, userId: string, until: Date | null): Promise<MembershipRecord | null>;
  /** Each group's control (owner, admins, add policy), members' only; null for a direct or unknown conversation. */
  getControls(conversationIds: readonly string[]): Promise<(GroupControl | null)[]>;
  /**
   * Applies `decide` to the group's control and members as they are, and
   * stores its outcome, atomically with respect to every other change of the
   * group's control, in every process: of two at once, the second decides on
   * the first's outcome (so two admins removing each other end with one
   * removed). A member it removes is removed as by `removeMember`.
   */
  changeControl(conversationId: string, decide: ControlDecision): Promise<ControlOutcome>;
  /** Renames a group; nothing for an unknown one. */
  setTitle(conversationId: string, title: string): Promise<void>;
  /** Every member's membership (read position) of each conversation, in member order; one round trip for all. */
  readPositions(conversationIds: readonly string[]): Promise<MembershipRecord[][]>;
}

/** Message history. */
export interface MessageStore {
  /**
   * Stores a message with the next `seq` of its conversation. When the sender
   * already sent `clientMessageId` in that conversation, stores nothing and
   * returns the original with `created: false`. An MLS commit (`mls.kind`
   * COMMIT) is stored only if no commit for its epoch is, across processes:
   * otherwise the one stored is returned with `created: false`.
   */
  append(message: NewMessage): Promise<{ message: MessageRecord; created: boolean }>;
  /** The stored MLS commit of the conversation for `epoch`, if any. */
  findCommit(conversationId: string, epoch: number): Promise<MessageRecord | null>;
  getMany(ids: readonly string[]): Promise<(MessageRecord | null)[]>;
  /** A range of one conversation's history, in `seq` order. */
  page(conversationId: string, range: MessageRange): Promise<MessageRecord[]>;
  /** How many messages after `afterSeq` were sent by someone other than `userId`. */
  countUnread(conversationId: string, afterSeq: number, userId: string): Promise<number>;
  /**
   * Replaces the content of a message that is not deleted and sets `editedAt`.
   * Concurrent edits and deletes of one message apply one after the other:
   * the result is always one of them, never a mix.
   */
  edit(id: string, content: string, editedAt: Date): Promise<MessageChange>;
  /** Empties the content and sets `deletedAt`; idempotent ('ok' with the message as it is when deleted already). */
  delete(id: string, deletedAt: Date): Promise<MessageChange>;
  /**
   * Adds `userId`'s reaction with `emoji` (idempotent, also under concurrent
   * calls), unless the message would then carry more than `maxDistinct` emoji.
   */
  react(id: string, userId: string, emoji: string, at: Date, maxDistinct: number): Promise<MessageChange>;
  /** Removes `userId`'s reaction with `emoji`; idempotent. */
  unreact(id: string, userId: string, emoji: string): Promise<MessageChange>;
  /** Up to `limit` messages of the sender, in any conversation, that are not deleted; in no particular order. */
  listUndeletedBySender(senderId: string, limit: number): Promise<MessageRecord[]>;
}

/** Blocks: a directed "has blocked" relation. */
export interface BlockStore {
  /** Idempotent: blocking again keeps the first time. */
  block(userId: string, blockedId: string, at: Date): Promise<void>;
  /** Idempotent. */
  unblock(userId: string, blockedId: string): Promise<void>;
  /** Ids of the users `userId` has blocked, most recent first. */
  listBlocked(userId: string): Promise<string[]>;
  /** Whether each blocker has blocked the blocked user, in key order (the DataLoader contract). */
  isBlocked(keys: readonly { blockerId: string; blockedId: string }[]): Promise<boolean[]>;
}

/**
 * Device tokens for push notifications. A token belongs to the user who
 * registered it last (FCM's model: whoever proved it last owns the device).
 */
export interface PushTokenStore {
  /**
   * Registers the token for `record.userId` as of `at`: idempotent, a token of
   * another user moves to this one, and one registered again is refreshed.
   * The user then holds at most `maxPerUser`: the one just registered and their
   * most recently registered others (newest `at` first, equal times by token,
   * descending). While concurrent registrations of one user run, a store
   * without transactions may hold more, or drop one of the newest a moment
   * early if its time is not newer than theirs; never more once they are done.
   */
  register(record: PushTokenRecord, at: Date, maxPerUser: number): Promise<void>;
  /** Removes the token if `userId` owns it. Idempotent. */
  unregister(userId: string, token: string): Promise<void>;
  /** The tokens the users hold now, in no particular order. */
  listForUsers(userIds: readonly string[]): Promise<PushTokenRecord[]>;
  /** Removes every token the user holds. Idempotent. */
  unregisterAll(userId: string): Promise<void>;
}

/**
 * Signed-in devices and their refresh tokens (by hash). A session's tokens form
 * a chain: each rotation spends the current one and issues the next, and a
 * spent one presented again ends the session (it was copied: stolen).
 */
export interface SessionStore {
  /** Stores a session whose current refresh token has `refreshTokenHash`; throws if the id or hash is taken. */
  create(session: NewSession): Promise<SessionRecord>;
  get(id: string): Promise<SessionRecord | null>;
  /** The user's sessions that have not ended, most recently used first (expired ones included). */
  listForUser(userId: string): Promise<SessionRecord[]>;
  /**
   * Moves the session whose current refresh token has `refreshTokenHash` on to
   * `newRefreshTokenHash`, with `refreshExpiresAt` and `lastUsedAt = now`.
   * Of concurrent rotations with one hash, in any number of processes, exactly
   * one is 'rotated' and the others 'reused' (ending the session).
   */
  rotate(input: {
    refreshTokenHash: string;
    newRefreshTokenHash: string;
    now: Date;
    refreshExpiresAt: Date;
  }): Promise<RotateResult>;
  /**
   * Moves a live session on to `newRefreshTokenHash` without its current
   * refresh token (whose holder proved themselves otherwise), which is spent.
   * The session as it is now; `null` when it is unknown or has ended.
   */
  reissue(input: {
    sessionId: string;
    newRefreshTokenHash: string;
    now: Date;
    refreshExpiresAt: Date;
  }): Promise<SessionRecord | null>;
  /** Raises `lastUsedAt` to `now`; best effort, nothing for an unknown session. */
  touch(id: string, now: Date): Promise<void>;
  /** Ends the session unless it has ended (the first end stays); `null` when unknown. */
  end(id: string, now: Date, because: SessionEndReason): Promise<SessionRecord | null>;
  /** Ends every session of the user that has not ended; the ids this call ended. */
  endAllForUser(userId: string, now: Date, because: SessionEndReason): Promise<string[]>;
}

/** The MLS groups of encrypted conversations, and the KeyPackage directory. */
export interface MlsStore {
  /** Registers a conversation's group at epoch 0 with one device; throws if the conversation has one. */
  createGroup(group: MlsGroupRecord): Promise<void>;
  getGroups(conversationIds: readonly string[]): Promise<(MlsGroupRecord | null)[]>;
  /**
   * Moves the group from `epoch` to `epoch + 1` with `leaves`, if it is at
   * `epoch` (compare and set); whether this call moved it.
   */
  advance(conversationId: string, epoch: number, leaves: (string | null)[]): Promise<boolean>;
  /**
   * Adds KeyPackages, all of one session, unless it would then hold more than
   * `maxUnclaimed` unclaimed ones unexpired at `now` (nothing added then: 'too-many'); a
   * last-resort one replaces the session's previous one. Refs already stored are skipped.
   */
  addKeyPackages(
    packages: readonly KeyPackageRecord[],
    maxUnclaimed: number,
    now: Date,
  ): Promise<{ status: 'ok'; unclaimed: number } | { status: 'too-many' }>;
  /**
   * Hands out one unclaimed KeyPackage of the session, oldest first, not
   * expired at `now`, each at most once across processes; else its
   * last-resort one; null if neither.
   */
  claimKeyPackage(sessionId: string, now: Date): Promise<KeyPackageRecord | null>;
  /** A KeyPackage by ref. */
  getKeyPackage(ref: string): Promise<KeyPackageRecord | null>;
  /** How many unclaimed, unexpired (at `now`), not last-resort KeyPackages the session holds. */
  countUnclaimed(sessionId: string, now: Date): Promise<number>;
  /** Deletes the KeyPackages of the sessions. Idempotent. */
  deleteForSessions(sessionIds: readonly string[]): Promise<void>;
}

/** Reports for operators, and the accounts they suspended. */
export interface ModerationStore {
  /** Stores a report (its message snapshot a copy); throws if the id is taken. */
  addReport(report: ReportRecord): Promise<void>;
  /** Reports newest first (createdAt, then id, descending), starting after `after`. */
  listReports(page: { first: number; after?: ReportPosition }): Promise<ReportRecord[]>;
  /**
   * Suspends the account unless it is suspended: the first suspension stays.
   * The suspension in force, and whether this call made it.
   */
  suspend(suspension: SuspensionRecord): Promise<{ suspension: SuspensionRecord; created: boolean }>;
  /** Each user's suspension, `null` where none, in key order (the DataLoader contract). */
  getSuspensions(userIds: readonly string[]): Promise<(SuspensionRecord | null)[]>;
}

/** Account deletions in progress and done: the record that drives a deletion's steps to the end. */
export interface AccountDeletionStore {
  /** Records that the user's deletion has started, unless it has (the first start stays); the record. */
  start(userId: string, at: Date): Promise<AccountDeletionRecord>;
  get(userId: string): Promise<AccountDeletionRecord | null>;
  /** Records that every step is done. Idempotent. */
  finish(userId: string, at: Date): Promise<void>;
  /** Up to `limit` deletions started and not finished, oldest first. */
  listUnfinished(limit: number): Promise<AccountDeletionRecord[]>;
}

/**
 * Uploads reserved by createUpload. Each is used at most once: a message, an
 * avatar or the sweeper claims it, and a claim is decided by the store (of
 * concurrent claims of one upload, in any number of processes, exactly one wins).
 */
export interface UploadStore {
  /** Stores a new upload; throws if the id is taken. */
  create(upload: NewUpload): Promise<UploadRecord>;
  getMany(ids: readonly string[]): Promise<(UploadRecord | null)[]>;
  /** Records what completeUpload found; the first completion stays. The upload as now, `null` if unknown. */
  complete(id: string, completion: UploadCompletion): Promise<UploadRecord | null>;
  /**
   * Claims every one of the uploads for `holder`, or none: when one is held by
   * another holder (or unknown: `holder: null`), the claims this call made are undone.
   * Claiming again for the same holder succeeds.
   */
  claim(ids: readonly string[], holder: string): Promise<ClaimResult>;
  /** Undoes the claims `holder` holds on the uploads (a send that failed after claiming). */
  release(ids: readonly string[], holder: string): Promise<void>;
  /** Removes the uploads and their claims. Idempotent. */
  delete(ids: readonly string[]): Promise<void>;
  /** Uploads created before `before` that nothing has claimed, oldest first, at most `limit`. */
  listUnclaimed(before: Date, limit: number): Promise<UploadRecord[]>;
}

/** Everything the service persists. */
export interface Store {
  users: UserStore;
  friends: FriendStore;
  conversations: ConversationStore;
  messages: MessageStore;
  pushTokens: PushTokenStore;
  blocks: BlockStore;
  sessions: SessionStore;
  moderation: ModerationStore;
  deletions: AccountDeletionStore;
  uploads: UploadStore;
  mls: MlsStore;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

/**
 * A record's id is taken already: ids come from Snowflake generators, so two
 * processes share a worker id. Never reported as a taken username or the like.
 */
export function idInUse(kind: string, id: string): Error {
  return new Error(`${kind} id ${id} is already in use: are two processes issuing ids with one worker id?`);
}

/**
 * The same store with every operation of every part passed through `around`
 * (which calls `call` and may add to it); `close` is left as it is.
 */
export function wrapStore(store: Store, around: (call: () => Promise<unknown>) => Promise<unknown>): Store {
  const wrap = <T extends object>(part: T): T =>
    Object.fromEntries(
      Object.entries(part).map(([name, fn]) => [
        name,
        (...args: unknown[]) => around(() => (fn as (...a: unknown[]) => Promise<unknown>).apply(part, args)),
      ]),
    ) as T;
  return {
    users: wrap(store.users),
    friends: wrap(store.friends),
    conversations: wrap(store.conversations),
    messages: wrap(store.messages),
    pushTokens: wrap(store.pushTokens),
    blocks: wrap(store.blocks),
    sessions: wrap(store.sessions),
    moderation: wrap(store.moderation),
    deletions: wrap(store.deletions),
    uploads: wrap(store.uploads),
    mls: wrap(store.mls),
    close: () => store.close(),
  };
}
