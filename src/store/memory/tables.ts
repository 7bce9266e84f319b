/**
 * The memory store's tables: plain maps holding the records themselves, so
 * every part copies a record on the way in and on the way out. Created once
 * by `createMemoryStore` and shared by its parts, as the MongoDB store's parts
 * share one database's collections.
 */
import type {
  AccountDeletionRecord,
  ConversationRecord,
  GroupControl,
  MembershipRecord,
  MessageRecord,
  PushTokenRecord,
  ReportRecord,
  SessionRecord,
  SuspensionRecord,
  UploadRecord,
  UserRecord,
  MlsGroupRecord,
  KeyPackageRecord,
} from '../store';

/** Every map the memory store keeps. */
export interface Tables {
  users: Map<string, { user: UserRecord; passwordHash: string }>;
  userIdByName: Map<string, string>;
  /** userId -> ids of users they have added. */
  friendEdges: Map<string, Set<string>>;
  conversations: Map<string, ConversationRecord>;
  directByPair: Map<string, string>;
  conversationIdsByUser: Map<string, Set<string>>;
  /** Keyed by `membershipKey(conversationId, userId)`. */
  memberships: Map<string, MembershipRecord>;
  /** conversationId -> the group's stored control (none until its first change). */
  groupControls: Map<string, GroupControl>;
  /** conversationId -> messages, index i holding seq i + 1. */
  history: Map<string, MessageRecord[]>;
  messagesById: Map<string, MessageRecord>;
  messageIdByClientKey: Map<string, string>;
  /** token -> its owner's record, and when it was last registered. */
  pushTokens: Map<string, { record: PushTokenRecord; at: Date }>;
  /** userId -> the tokens they hold. */
  pushTokensByUser: Map<string, Set<string>>;
  /** blockerId -> blocked user id -> when. */
  blocks: Map<string, Map<string, Date>>;
  /** sessionId -> the session and the generation of its current refresh token (0 for the first). */
  sessions: Map<string, { record: SessionRecord; generation: number }>;
  /** Refresh token hash -> its session and generation: spent ones stay, so that their reuse is seen. */
  sessionTokens: Map<string, { sessionId: string; generation: number }>;
  /** userId -> ids of their sessions. */
  sessionIdsByUser: Map<string, Set<string>>;
  /** Reports by id. */
  reports: Map<string, ReportRecord>;
  /** userId -> their suspension. */
  suspensions: Map<string, SuspensionRecord>;
  /** userId -> their account's deletion. */
  deletions: Map<string, AccountDeletionRecord>;
  /** uploadId -> the upload, its claim (`holder`) included. */
  uploads: Map<string, UploadRecord>;
  /** conversationId -> its MLS group (encrypted conversations). */
  mlsGroups: Map<string, MlsGroupRecord>;
  /** KeyPackageRef -> the KeyPackage. */
  keyPackages: Map<string, KeyPackageRecord>;
  /** sessionId -> its KeyPackages, oldest first. */
  keyPackagesBySession: Map<string, KeyPackageRecord[]>;
}

/** Empty tables, for one store. */
export function createTables(): Tables {
  return {
    users: new Map(),
    userIdByName: new Map(),
    friendEdges: new Map(),
    conversations: new Map(),
    directByPair: new Map(),
    conversationIdsByUser: new Map(),
    memberships: new Map(),
    groupControls: new Map(),
    history: new Map(),
    messagesById: new Map(),
    messageIdByClientKey: new Map(),
    pushTokens: new Map(),
    pushTokensByUser: new Map(),
    blocks: new Map(),
    sessions: new Map(),
    sessionTokens: new Map(),
    sessionIdsByUser: new Map(),
    reports: new Map(),
    suspensions: new Map(),
    deletions: new Map(),
    uploads: new Map(),
    mlsGroups: new Map(),
    keyPackages: new Map(),
    keyPackagesBySession: new Map(),
  };
}

/** The key of a membership in `Tables.memberships`. */
export const membershipKey = (conversationId: string, userId: string) => `${conversationId}\u0000${userId}`;
