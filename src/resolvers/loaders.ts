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
 * lookups, but never serve a stale record. Each loader is made when first
 * used: most operations use one or two, and a subscription's context is held
 * by every idle connection.
 */
export function createLoaders(
  store: Store,
  presence: PresenceTracker,
  { cache = true }: { cache?: boolean } = {},
): Loaders {
  return new LazyLoaders(store, presence, cache);
}

/** The loaders of `createLoaders`, each made on first use. */
class LazyLoaders implements Loaders {
  #users?: Loaders['users'];
  #conversations?: Loaders['conversations'];
  #messages?: Loaders['messages'];
  #memberships?: Loaders['memberships'];
  #friendIds?: Loaders['friendIds'];
  #presence?: Loaders['presence'];
  #readPositions?: Loaders['readPositions'];
  #groupControls?: Loaders['groupControls'];
  #mlsGroups?: Loaders['mlsGroups'];
  #blocked?: Loaders['blocked'];
  #uploads?: Loaders['uploads'];

  constructor(
    private readonly store: Store,
    private readonly presenceTracker: PresenceTracker,
    private readonly cache: boolean,
  ) {}

  get users() {
    return (this.#users ??= new DataLoader((ids) => this.store.users.getMany(ids), { cache: this.cache }));
  }
  get conversations() {
    return (this.#conversations ??= new DataLoader((ids) => this.store.conversations.getMany(ids), {
      cache: this.cache,
    }));
  }
  get messages() {
    return (this.#messages ??= new DataLoader((ids) => this.store.messages.getMany(ids), { cache: this.cache }));
  }
  get memberships() {
    return (this.#memberships ??= new DataLoader((keys) => this.store.conversations.getMemberships(keys), {
      cache: this.cache,
      cacheKeyFn: (key) => `${key.conversationId}:${key.userId}`,
    }));
  }
  get friendIds() {
    return (this.#friendIds ??= new DataLoader(
      (ids) => Promise.all(ids.map(async (id) => new Set(await this.store.friends.listMutual(id)))),
      { cache: this.cache },
    ));
  }
  get presence() {
    return (this.#presence ??= new DataLoader((ids) => this.presenceTracker.get(ids), { cache: this.cache }));
  }
  get readPositions() {
    return (this.#readPositions ??= new DataLoader((ids) => this.store.conversations.readPositions(ids), {
      cache: this.cache,
    }));
  }
  get groupControls() {
    return (this.#groupControls ??= new DataLoader((ids) => this.store.conversations.getControls(ids), {
      cache: this.cache,
    }));
  }
  get mlsGroups() {
    return (this.#mlsGroups ??= new DataLoader((ids) => this.store.mls.getGroups(ids), { cache: this.cache }));
  }
  get blocked() {
    return (this.#blocked ??= new DataLoader((keys) => this.store.blocks.isBlocked(keys), {
      cache: this.cache,
      cacheKeyFn: (key) => `${key.blockerId}:${key.blockedId}`,
    }));
  }
  get uploads() {
    return (this.#uploads ??= new DataLoader((ids) => this.store.uploads.getMany(ids), { cache: this.cache }));
  }
}
