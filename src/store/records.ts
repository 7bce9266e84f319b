/** The store's records: plain objects with string ids and Dates, as every backend returns them. */

/** A registered account, without its credentials. */
export interface UserRecord {
  id: string;
  /** Lowercase, 3 to 32 characters of a-z, 0-9 and _. */
  username: string;
  displayName: string;
  createdAt: Date;
  /** When the account was deleted (it is then a "Deleted user", its username still taken); null if not. */
  deletedAt: Date | null;
  /** The media key of the user's avatar; null if none. */
  avatarKey: string | null;
}

/**
 * Direct (exactly two members, for ever), group (1 to 100 members), or
 * encrypted: a group whose messages are MLS messages the server cannot read.
 */
export type ConversationKind = 'DIRECT' | 'GROUP' | 'ENCRYPTED';

/** A conversation and its current members. */
export interface ConversationRecord {
  id: string;
  kind: ConversationKind;
  /** The group's title; null for direct conversations. */
  title: string | null;
  memberIds: string[];
  createdAt: Date;
  /** `seq` of the newest message, 0 when there is none. */
  lastSeq: number;
  lastMessageId: string | null;
  /** The newest message's time, or `createdAt` before the first message. */
  lastActivityAt: Date;
}

/** One member's own state in one conversation. */
export interface MembershipRecord {
  conversationId: string;
  userId: string;
  /** The conversation's `lastSeq` when this user joined: live delivery starts after it. */
  joinedSeq: number;
  /** `seq` of the message read up to, 0 when nothing has been read. */
  lastReadSeq: number;
  lastReadMessageId: string | null;
  /** No pushes to this member for the conversation until then (MUTED_FOREVER: until unmuted); null if not muted. */
  mutedUntil: Date | null;
  /** When they joined; null for memberships stored before this was kept (the conversation's creation then). */
  joinedAt: Date | null;
}

/** A member's role in a group. */
export type MemberRole = 'OWNER' | 'ADMIN' | 'MEMBER';

/** Who may add members to a group. */
export type AddPolicy = 'ALL_MEMBERS' | 'ADMINS';

/**
 * Who controls a group: one owner, admins, and who may add members. Each
 * change moves `version` on by one; a group from before roles is at version 0,
 * owned by its first member.
 */
export interface GroupControl {
  version: number;
  ownerId: string | null;
  adminIds: string[];
  addPolicy: AddPolicy;
}

/**
 * Decides a change of a group's control against its state as it is: the next
 * state (and a member to remove with it), or why not.
 */
export type ControlDecision = (current: {
  control: GroupControl;
  memberIds: readonly string[];
  memberships: readonly MembershipRecord[];
}) => { control: Omit<GroupControl, 'version'>; removeId?: string } | { refused: string };

/** What `changeControl` did. */
export type ControlOutcome =
  | { status: 'ok'; control: GroupControl; conversation: ConversationRecord }
  | { status: 'refused'; reason: string }
  | { status: 'missing' }
  | { status: 'not-a-group' };

/** The `mutedUntil` of a mute with no end: the last instant ISO-8601 writes with four digits. */
export const MUTED_FOREVER = new Date('9999-12-31T23:59:59.999Z');

/** How far a member has read: the part of a membership that read receipts show. */
export type ReadPositionRecord = Pick<
  MembershipRecord,
  'conversationId' | 'userId' | 'lastReadSeq' | 'lastReadMessageId'
>;

/** A stored message. `seq` is 1, 2, 3, ... per conversation, in commit order. */
export interface MessageRecord {
  /** Snowflake id: unique and time-ordered across processes (decimal string). */
  id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  content: string;
  clientMessageId: string | null;
  createdAt: Date;
  /** When the content was last edited; null if never. */
  editedAt: Date | null;
  /** When the sender deleted it (content is then empty); null if not deleted. */
  deletedAt: Date | null;
  /** Who reacted with which emoji, one entry per emoji in order of first use; empty once deleted. */
  reactions: ReactionRecord[];
  /** The message of the same conversation it replies to; null if none. */
  replyToId: string | null;
  /** The members it mentions (@username when it was sent), in order of first mention. */
  mentionIds: string[];
  /** The uploads sent with it (UploadRecord ids), in the order given. */
  attachmentIds: string[];
  /** The MLS message of an ENCRYPTED conversation (content is then empty); null otherwise. */
  mls: MlsPayloadRecord | null;
}

/** An MLS message as stored and delivered: opaque bytes and what the server read of them. */
export interface MlsPayloadRecord {
  kind: 'COMMIT' | 'PROPOSAL' | 'APPLICATION';
  /** The epoch it was sent in. */
  epoch: number;
  /** Base64 of the MLSMessage. */
  message: string;
  /** Base64 of the Welcome sent with a commit that adds devices; null otherwise. */
  welcome: string | null;
  /** A commit's effect on the group; null for other kinds. */
  change: MlsChange | null;
}

/**
 * What an accepted commit does to its group: the devices by leaf after it,
 * and the users it makes members and non-members. Kept on the commit's
 * message, so that whoever finds the commit stored can finish applying it.
 */
export interface MlsChange {
  leaves: (string | null)[];
  addedUserIds: string[];
  removedUserIds: string[];
}

/**
 * The MLS group of an ENCRYPTED conversation as the Delivery Service tracks
 * it: the epoch the next commit must be for, and which device (`<userId>:
 * <sessionId>`, the credential's identity) holds each leaf (null: blank).
 */
export interface MlsGroupRecord {
  conversationId: string;
  /** Base64 of the MLS group id. */
  groupId: string;
  epoch: number;
  leaves: (string | null)[];
}

/** A KeyPackage in the directory: uploaded by one session (device), handed out once. */
export interface KeyPackageRecord {
  /** The KeyPackageRef, hex: unique. */
  ref: string;
  userId: string;
  sessionId: string;
  /** Base64 of the KeyPackage (an MLSMessage). */
  keyPackage: string;
  /** The session's last-resort KeyPackage: handed out when no other is left, and kept. */
  lastResort: boolean;
  notAfter: Date;
  createdAt: Date;
  /** When it was handed out; null while unclaimed. */
  claimedAt: Date | null;
}

/** The users who reacted to a message with one emoji, in the order they did. */
export interface ReactionRecord {
  emoji: string;
  userIds: string[];
}

/** Where a device's push notifications go. */
export type PushPlatform = 'ANDROID' | 'IOS' | 'WEB';

/** A device's push token and its owner. */
export interface PushTokenRecord {
  token: string;
  userId: string;
  platform: PushPlatform;
}

/** Input of `users.create`. */
export type NewUser = Omit<UserRecord, 'deletedAt' | 'avatarKey'> & { passwordHash: string };

/** Input of `messages.append`; the store assigns `seq`. */
export type NewMessage = Omit<
  MessageRecord,
  'seq' | 'editedAt' | 'deletedAt' | 'reactions' | 'replyToId' | 'mentionIds' | 'attachmentIds' | 'mls'
> &
  Partial<Pick<MessageRecord, 'replyToId' | 'mentionIds' | 'attachmentIds' | 'mls'>>;

/** The outcome of changing a message (edit, delete, reaction). */
export type MessageChange =
  | { status: 'ok'; message: MessageRecord }
  | { status: 'missing' }
  /** Deleted already: it can be neither edited nor reacted to. */
  | { status: 'deleted'; message: MessageRecord }
  /** The reaction would make more distinct emoji than allowed. */
  | { status: 'too-many' };

/** Position in the viewer's conversation list (most recent activity first). */
export interface ConversationPosition {
  lastActivityAt: Date;
  id: string;
}

/**
 * A window of one conversation's history by `seq`, both bounds exclusive.
 * `from: 'oldest'` takes the first `limit` messages of the window,
 * `from: 'newest'` the last `limit`; either way the result is in `seq` order.
 */
export interface MessageRange {
  afterSeq?: number;
  beforeSeq?: number;
  limit: number;
  from: 'oldest' | 'newest';
}

/** The outcome of adding members to a group. */
export type AddMembersResult =
  | { status: 'ok'; conversation: ConversationRecord }
  | { status: 'missing' }
  | { status: 'not-a-group' }
  | { status: 'too-many'; memberCount: number };

/**
 * Why a session ended: the user logged out, it was revoked, a spent refresh
 * token came back, an operator suspended the account, or its owner deleted it.
 */
export type SessionEndReason = 'logOut' | 'revoked' | 'reuse' | 'suspended' | 'deleted';

/** One signed-in device. The store keeps only hashes of its refresh tokens. */
export interface SessionRecord {
  id: string;
  userId: string;
  createdAt: Date;
  /** The latest rotation or `touch`. */
  lastUsedAt: Date;
  deviceName: string | null;
  endedAt: Date | null;
  endedBecause: SessionEndReason | null;
  /** When the current refresh token expires; each rotation moves it on. */
  refreshExpiresAt: Date;
}

/** Input of `sessions.create`: the session and its first refresh token's hash. */
export interface NewSession {
  id: string;
  userId: string;
  createdAt: Date;
  deviceName: string | null;
  refreshTokenHash: string;
  refreshExpiresAt: Date;
}

/**
 * The outcome of presenting a refresh token: 'rotated' (it was current: the
 * new one replaces it), 'reused' (it was spent: the session is ended now),
 * 'ended', 'expired', or 'unknown'.
 */
export type RotateResult =
  | { outcome: 'rotated' | 'reused' | 'ended' | 'expired'; session: SessionRecord }
  | { outcome: 'unknown' };

/** Why a user reported a message or a user (the contract's ReportReason). */
export type ReportReason = 'SPAM' | 'HARASSMENT' | 'HATE' | 'SEXUAL' | 'VIOLENCE' | 'SELF_HARM' | 'OTHER';

/** A report filed by a user, for operators to read. */
export interface ReportRecord {
  /** Snowflake id. */
  id: string;
  reporterId: string;
  reason: ReportReason;
  note: string | null;
  /** The reported user: the one named, or the reported message's sender. */
  reportedUserId: string;
  /** The reported message as it was when reported (later edits and deletion leave it); null for a report of a user. */
  message: MessageRecord | null;
  createdAt: Date;
}

/** Position in the list of reports (newest first). */
export interface ReportPosition {
  createdAt: Date;
  id: string;
}

/** An operator suspended an account: its sessions end and it cannot log in. */
export interface SuspensionRecord {
  userId: string;
  /** The operator's user id. */
  by: string;
  reason: string;
  at: Date;
}

/**
 * An account's deletion, from its start (the owner asked, with the password)
 * until every step is done; what drives the steps again after a crash.
 */
export interface AccountDeletionRecord {
  userId: string;
  startedAt: Date;
  /** Null until every step is done. */
  finishedAt: Date | null;
}
/** What an upload is for: a message attachment, or the uploader's avatar. */
export type UploadPurpose = 'ATTACHMENT' | 'AVATAR';

/** What a completed upload turned out to be. */
export type AttachmentKind = 'IMAGE' | 'VIDEO' | 'AUDIO' | 'FILE';

/** What `completeUpload` found and made of an upload's bytes. */
export interface UploadCompletion {
  kind: AttachmentKind;
  /** The type sniffed from the bytes (application/octet-stream when none was recognised). */
  contentType: string;
  /** The size of the object served (for images: the re-encoded one). */
  byteSize: number;
  width: number | null;
  height: number | null;
  /** The media key of what is served: the upload itself, or for images its re-encoded copy. */
  servedKey: string;
  /** The media key of an image's thumbnail; null otherwise. */
  thumbnailKey: string | null;
  completedAt: Date;
}

/** An upload a user reserved with createUpload. */
export interface UploadRecord {
  id: string;
  userId: string;
  purpose: UploadPurpose;
  /** The media key the client uploads to (chosen by the server). */
  key: string;
  fileName: string;
  /** The Content-Type the client declared (and must upload with). */
  declaredType: string;
  /** The exact size the client declared, in bytes. */
  byteSize: number;
  createdAt: Date;
  /** Null until completeUpload has checked and processed the bytes. */
  completion: UploadCompletion | null;
  /** What claimed it for good (a message id, `avatar:<user>`, `sweep`); null while unclaimed. */
  holder: string | null;
}

/** Input of `uploads.create`. */
export type NewUpload = Omit<UploadRecord, 'completion' | 'holder'>;

/** The outcome of claiming uploads: all of them, or none because one is held already. */
export type ClaimResult = { status: 'ok' } | { status: 'taken'; uploadId: string; holder: string | null };
