import { idInUse } from './store';
import type {
  AddMembersResult,
  ConversationPosition,
  ConversationRecord,
  MembershipRecord,
  MessageChange,
  MessageRange,
  MessageRecord,
  NewMessage,
  NewUser,
  PushTokenRecord,
  Store,
  UserRecord,
} from './store';

/**
 * The embedded default store: everything in this process's memory, lost on
 * exit. Every operation completes its writes without yielding to the event
 * loop, so each one is atomic and `seq` commit order is trivially `seq` order.
 */
export function createMemoryStore(): Store {
  const users = new Map<string, { user: UserRecord; passwordHash: string }>();
  const userIdByName = new Map<string, string>();
  /** userId -> ids of users they have added. */
  const friendEdges = new Map<string, Set<string>>();
  const conversations = new Map<string, ConversationRecord>();
  const directByPair = new Map<string, string>();
  const conversationIdsByUser = new Map<string, Set<string>>();
  const memberships = new Map<string, MembershipRecord>();
  /** conversationId -> messages, index i holding seq i + 1. */
  const history = new Map<string, MessageRecord[]>();
  const messagesById = new Map<string, MessageRecord>();
  const messageIdByClientKey = new Map<string, string>();
  /** token -> its owner's record, and when it was last registered. */
  const pushTokens = new Map<string, { record: PushTokenRecord; at: Date }>();
  /** userId -> the tokens they hold. */
  const pushTokensByUser = new Map<string, Set<string>>();
  /** blockerId -> blocked user id -> when. */
  const blocks = new Map<string, Map<string, Date>>();

  const membershipKey = (conversationId: string, userId: string) => `${conversationId}\u0000${userId}`;
  const copyUser = (u: UserRecord): UserRecord => ({ ...u });
  const copyConversation = (c: ConversationRecord): ConversationRecord => ({ ...c, memberIds: [...c.memberIds] });
  const copyMessage = (m: MessageRecord): MessageRecord => ({
    ...m,
    reactions: m.reactions.map((r) => ({ emoji: r.emoji, userIds: [...r.userIds] })),
  });

  /** Applies `change` to a stored message that is not deleted. */
  function changeMessage(id: string, change: (m: MessageRecord) => MessageChange | void): MessageChange {
    const message = messagesById.get(id);
    if (!message) return { status: 'missing' };
    if (message.deletedAt) return { status: 'deleted', message: copyMessage(message) };
    return change(message) ?? { status: 'ok', message: copyMessage(message) };
  }

  /** Removes a token from whoever holds it. */
  function dropPushToken(token: string): void {
    const userId = pushTokens.get(token)?.record.userId;
    if (userId === undefined) return;
    pushTokens.delete(token);
    const theirs = pushTokensByUser.get(userId)!;
    theirs.delete(token);
    if (theirs.size === 0) pushTokensByUser.delete(userId);
  }

  function join(conversation: ConversationRecord, userId: string): void {
    if (!conversation.memberIds.includes(userId)) conversation.memberIds.push(userId);
    const key = membershipKey(conversation.id, userId);
    if (!memberships.has(key)) {
      memberships.set(key, {
        conversationId: conversation.id,
        userId,
        joinedSeq: conversation.lastSeq,
        lastReadSeq: 0,
        lastReadMessageId: null,
      });
    }
    let ids = conversationIdsByUser.get(userId);
    if (!ids) conversationIdsByUser.set(userId, (ids = new Set()));
    ids.add(conversation.id);
  }

  function insertConversation(conversation: ConversationRecord, memberIds: readonly string[]): ConversationRecord {
    if (conversations.has(conversation.id)) throw idInUse('conversation', conversation.id);
    conversations.set(conversation.id, conversation);
    history.set(conversation.id, []);
    for (const userId of memberIds) join(conversation, userId);
    return copyConversation(conversation);
  }

  /** Most recent activity first; ties broken by id, descending, so the order is total. */
  function compareActivity(a: ConversationPosition, b: ConversationPosition): number {
    const byTime = b.lastActivityAt.getTime() - a.lastActivityAt.getTime();
    if (byTime !== 0) return byTime;
    return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
  }

  return {
    users: {
      async create(input: NewUser) {
        if (userIdByName.has(input.username)) return null;
        if (users.has(input.id)) throw idInUse('user', input.id);
        const user: UserRecord = {
          id: input.id,
          username: input.username,
          displayName: input.displayName,
          createdAt: input.createdAt,
        };
        users.set(user.id, { user, passwordHash: input.passwordHash });
        userIdByName.set(user.username, user.id);
        return copyUser(user);
      },
      async getMany(ids) {
        return ids.map((id) => {
          const entry = users.get(id);
          return entry ? copyUser(entry.user) : null;
        });
      },
      async findCredentials(username) {
        const id = userIdByName.get(username);
        const entry = id === undefined ? undefined : users.get(id);
        return entry ? { user: copyUser(entry.user), passwordHash: entry.passwordHash } : null;
      },
      async searchByPrefix(prefix, limit) {
        const found: UserRecord[] = [];
        for (const [username, id] of userIdByName) {
          if (username.startsWith(prefix)) found.push(users.get(id)!.user);
        }
        found.sort((a, b) => (a.username < b.username ? -1 : 1));
        return found.slice(0, limit).map(copyUser);
      },
    },

    friends: {
      async add(userId, friendId) {
        let added = friendEdges.get(userId);
        if (!added) friendEdges.set(userId, (added = new Set()));
        added.add(friendId);
      },
      async remove(userId, friendId) {
        friendEdges.get(userId)?.delete(friendId);
        friendEdges.get(friendId)?.delete(userId);
      },
      async listMutual(userId) {
        const added = friendEdges.get(userId) ?? new Set<string>();
        return [...added].filter((friendId) => friendEdges.get(friendId)?.has(userId) ?? false);
      },
    },

    conversations: {
      async getMany(ids) {
        return ids.map((id) => {
          const c = conversations.get(id);
          return c ? copyConversation(c) : null;
        });
      },
      async findOrCreateDirect({ id, userIds, createdAt }) {
        const pair = [...userIds].sort().join('\u0000');
        const existing = directByPair.get(pair);
        if (existing !== undefined) return copyConversation(conversations.get(existing)!);
        // Inserted first: should the id be in use, it throws before the pair points at it.
        const created = insertConversation(
          {
            id,
            kind: 'DIRECT',
            title: null,
            memberIds: [],
            createdAt,
            lastSeq: 0,
            lastMessageId: null,
            lastActivityAt: createdAt,
          },
          userIds,
        );
        directByPair.set(pair, id);
        return created;
      },
      async createGroup({ id, title, memberIds, createdAt }) {
        return insertConversation(
          {
            id,
            kind: 'GROUP',
            title,
            memberIds: [],
            createdAt,
            lastSeq: 0,
            lastMessageId: null,
            lastActivityAt: createdAt,
          },
          memberIds,
        );
      },
      async addMembers(conversationId, userIds, maxMembers): Promise<AddMembersResult> {
        const conversation = conversations.get(conversationId);
        if (!conversation) return { status: 'missing' };
        if (conversation.kind !== 'GROUP') return { status: 'not-a-group' };
        const after = new Set([...conversation.memberIds, ...userIds]);
        if (after.size > maxMembers) return { status: 'too-many', memberCount: after.size };
        for (const userId of userIds) join(conversation, userId);
        return { status: 'ok', conversation: copyConversation(conversation) };
      },
      async removeMember(conversationId, userId) {
        const conversation = conversations.get(conversationId);
        if (!conversation) return;
        conversation.memberIds = conversation.memberIds.filter((id) => id !== userId);
        memberships.delete(membershipKey(conversationId, userId));
        conversationIdsByUser.get(userId)?.delete(conversationId);
      },
      async getMemberships(keys) {
        return keys.map(({ conversationId, userId }) => {
          const m = memberships.get(membershipKey(conversationId, userId));
          return m ? { ...m } : null;
        });
      },
      async listForUser(userId, { first, after }) {
        const mine = [...(conversationIdsByUser.get(userId) ?? [])].map((id) => conversations.get(id)!);
        mine.sort(compareActivity);
        const start = after ? mine.findIndex((c) => compareActivity(c, after) > 0) : 0;
        if (start < 0) return [];
        return mine.slice(start, start + first).map(copyConversation);
      },
      async listAllForUser(userId) {
        return [...(conversationIdsByUser.get(userId) ?? [])].map((id) => copyConversation(conversations.get(id)!));
      },
      async markRead(conversationId, userId, seq, messageId) {
        const m = memberships.get(membershipKey(conversationId, userId));
        if (!m) return null;
        const advanced = seq > m.lastReadSeq;
        if (advanced) {
          m.lastReadSeq = seq;
          m.lastReadMessageId = messageId;
        }
        return { membership: { ...m }, advanced };
      },
      async readPositions(conversationIds) {
        return conversationIds.map((id) =>
          (conversations.get(id)?.memberIds ?? []).map((userId) => ({
            ...memberships.get(membershipKey(id, userId))!,
          })),
        );
      },
    },

    messages: {
      async append(input: NewMessage) {
        const clientKey =
          input.clientMessageId === null
            ? null
            : `${input.senderId}\u0000${input.conversationId}\u0000${input.clientMessageId}`;
        if (clientKey !== null) {
          const originalId = messageIdByClientKey.get(clientKey);
          if (originalId !== undefined) return { message: copyMessage(messagesById.get(originalId)!), created: false };
        }
        const conversation = conversations.get(input.conversationId);
        const messages = history.get(input.conversationId);
        if (!conversation || !messages) throw new Error(`append: no conversation ${input.conversationId}`);
        if (messagesById.has(input.id)) throw idInUse('message', input.id);
        const message: MessageRecord = {
          ...input,
          seq: messages.length + 1,
          editedAt: null,
          deletedAt: null,
          reactions: [],
        };
        messages.push(message);
        messagesById.set(message.id, message);
        if (clientKey !== null) messageIdByClientKey.set(clientKey, message.id);
        conversation.lastSeq = message.seq;
        conversation.lastMessageId = message.id;
        // Clocks of different processes differ a little: activity never moves backwards.
        if (message.createdAt > conversation.lastActivityAt) conversation.lastActivityAt = message.createdAt;
        return { message: copyMessage(message), created: true };
      },
      async getMany(ids) {
        return ids.map((id) => {
          const m = messagesById.get(id);
          return m ? copyMessage(m) : null;
        });
      },
      async page(conversationId, { afterSeq = 0, beforeSeq, limit, from }: MessageRange) {
        const messages = history.get(conversationId) ?? [];
        // seq s sits at index s - 1: the window is indexes [afterSeq, beforeSeq - 1).
        const lo = Math.max(0, afterSeq);
        const hi = Math.min(messages.length, beforeSeq === undefined ? messages.length : beforeSeq - 1);
        if (hi <= lo || limit <= 0) return [];
        const slice =
          from === 'oldest'
            ? messages.slice(lo, Math.min(hi, lo + limit))
            : messages.slice(Math.max(lo, hi - limit), hi);
        return slice.map(copyMessage);
      },
      async countUnread(conversationId, afterSeq, userId) {
        const messages = history.get(conversationId) ?? [];
        let count = 0;
        for (let i = Math.max(0, afterSeq); i < messages.length; i++) if (messages[i]!.senderId !== userId) count++;
        return count;
      },
      async edit(id, content, editedAt) {
        return changeMessage(id, (m) => {
          m.content = content;
          m.editedAt = editedAt;
        });
      },
      async delete(id, deletedAt) {
        const message = messagesById.get(id);
        if (!message) return { status: 'missing' };
        if (!message.deletedAt) Object.assign(message, { content: '', deletedAt, reactions: [] });
        return { status: 'ok', message: copyMessage(message) };
      },
      async react(id, userId, emoji, _at, maxDistinct) {
        return changeMessage(id, (m) => {
          const reaction = m.reactions.find((r) => r.emoji === emoji);
          if (reaction) {
            if (!reaction.userIds.includes(userId)) reaction.userIds.push(userId);
            return;
          }
          if (m.reactions.length >= maxDistinct) return { status: 'too-many' };
          m.reactions.push({ emoji, userIds: [userId] });
        });
      },
      async unreact(id, userId, emoji) {
        const message = messagesById.get(id);
        if (!message) return { status: 'missing' };
        const reaction = message.reactions.find((r) => r.emoji === emoji);
        if (reaction) {
          reaction.userIds = reaction.userIds.filter((u) => u !== userId);
          if (reaction.userIds.length === 0) message.reactions = message.reactions.filter((r) => r !== reaction);
        }
        return { status: 'ok', message: copyMessage(message) };
      },
    },

    pushTokens: {
      async register(record, at, maxPerUser) {
        dropPushToken(record.token);
        pushTokens.set(record.token, { record: { ...record }, at });
        let mine = pushTokensByUser.get(record.userId);
        if (!mine) pushTokensByUser.set(record.userId, (mine = new Set()));
        mine.add(record.token);
        if (mine.size <= maxPerUser) return;
        // The others, newest first, equal times by token, as the MongoDB store sorts them.
        const others = [...mine]
          .filter((token) => token !== record.token)
          .sort((x, y) => +pushTokens.get(y)!.at - +pushTokens.get(x)!.at || (x < y ? 1 : -1));
        for (const token of others.slice(Math.max(0, maxPerUser - 1))) dropPushToken(token);
      },
      async unregister(userId, token) {
        if (pushTokens.get(token)?.record.userId === userId) dropPushToken(token);
      },
      async listForUsers(userIds) {
        return [...new Set(userIds)].flatMap((userId) =>
          [...(pushTokensByUser.get(userId) ?? [])].map((token) => ({ ...pushTokens.get(token)!.record })),
        );
      },
    },

    blocks: {
      async block(userId, blockedId, at) {
        let mine = blocks.get(userId);
        if (!mine) blocks.set(userId, (mine = new Map()));
        if (!mine.has(blockedId)) mine.set(blockedId, at);
      },
      async unblock(userId, blockedId) {
        blocks.get(userId)?.delete(blockedId);
      },
      async listBlocked(userId) {
        return [...(blocks.get(userId) ?? [])].sort((a, b) => b[1].getTime() - a[1].getTime()).map(([id]) => id);
      },
      async isBlocked(keys) {
        return keys.map(({ blockerId, blockedId }) => blocks.get(blockerId)?.has(blockedId) ?? false);
      },
    },

    async close() {},
  };
}
