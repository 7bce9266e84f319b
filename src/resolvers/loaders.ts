import DataLoader from 'dataloader';
import type { PresenceRecord, PresenceTracker } from '../presence/presence';
import type {
  ConversationRecord,
  GroupControl,
  MlsGroupRecord,
  MembershipRecord,
  MessageRecord,
  Store,
  UploadRecord,
  UserRecord,
} from '../store/store';

/** A (conversation, user) pair, the key of a membership. */
export interface MembershipKey {
  conversationId: string;
  userId: string;
}

/** Batched, per-operation lookups by id. */
export interface Loaders {
  users: DataLoader<string, UserRecord | null>;
  conversations: DataLoader<string, ConversationRecord | null>;
  messages: DataLoader<string, MessageRecord | null>;
  memberships: DataLoader<MembershipKey, MembershipRecord | null, string>;
  /** A user's mutual friends. */
  friendIds: DataLoader<string, Set<string>>;
  presence: DataLoader<string, PresenceRecord>;
  /** Every member's read position of a conversation: a page of conversations in one store call. */
  readPositions: DataLoader<string, MembershipRecord[]>;
  /** Each group's owner, admins and add policy; null for a direct conversation. */
  groupControls: DataLoader<string, GroupControl | null>;
  /** Encrypted conversations' MLS groups. */
  mlsGroups: DataLoader<string, MlsGroupRecord | null>;
  /** Whether `blockerId` has blocked `blockedId`. */
  blocked: DataLoader<BlockKey, boolean, string>;
  uploads: DataLoader<string, UploadRecord | null>;
}

/** A (blocker, blocked) pair. */
export interface BlockKey {
  blockerId: string;
  blockedId: string;
}

/**
 * Fresh loaders for one operation. `cache: false` for subscriptions, whose
 * context lives as long as the subscription: they still batch each event's
 * lookups, but never serve a stale record.
 */
export function createLoaders(
  store: Store,
  presence: PresenceTracker,
  { cache = true }: { cache?: boolean } = {},
): Loaders {
  return {
    users: new DataLoader((ids) => store.users.getMany(ids), { cache }),
    conversations: new DataLoader((ids) => store.conversations.getMany(ids), { cache }),
    messages: new DataLoader((ids) => store.messages.getMany(ids), { cache }),
    memberships: new DataLoader((keys) => store.conversations.getMemberships(keys), {
      cache,
      cacheKeyFn: (key) => `${key.conversationId}:${key.userId}`,
    }),
    friendIds: new DataLoader(
      (ids) => Promise.all(ids.map(async (id) => new Set(await store.friends.listMutual(id)))),
      { cache },
    ),
    presence: new DataLoader((ids) => presence.get(ids), { cache }),
    readPositions: new DataLoader((ids) => store.conversations.readPositions(ids), { cache }),
    groupControls: new DataLoader((ids) => store.conversations.getControls(ids), { cache }),
    mlsGroups: new DataLoader((ids) => store.mls.getGroups(ids), { cache }),
    blocked: new DataLoader((keys) => store.blocks.isBlocked(keys), {
      cache,
      cacheKeyFn: (key) => `${key.blockerId}:${key.blockedId}`,
    }),
    uploads: new DataLoader((ids) => store.uploads.getMany(ids), { cache }),
  };
}
