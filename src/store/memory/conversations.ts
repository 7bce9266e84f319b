import { defaultControl, effectiveControl } from '../control';
import {
  idInUse,
  type AddMembersResult,
  type ControlOutcome,
  type ConversationPosition,
  type ConversationRecord,
  type ConversationStore,
  type GroupControl,
  type MembershipRecord,
} from '../store';
import { membershipKey, type Tables } from './tables';

const copyConversation = (c: ConversationRecord): ConversationRecord => ({ ...c, memberIds: [...c.memberIds] });

function join(
  t: Tables,
  conversation: ConversationRecord,
  userId: string,
  joinedAt: Date,
  joinedSeq = conversation.lastSeq,
): void {
  if (!conversation.memberIds.includes(userId)) conversation.memberIds.push(userId);
  const key = membershipKey(conversation.id, userId);
  if (!t.memberships.has(key)) {
    t.memberships.set(key, {
      conversationId: conversation.id,
      userId,
      joinedSeq: Math.min(joinedSeq, conversation.lastSeq),
      lastReadSeq: 0,
      lastReadMessageId: null,
      mutedUntil: null,
      joinedAt,
    });
  }
  let ids = t.conversationIdsByUser.get(userId);
  if (!ids) t.conversationIdsByUser.set(userId, (ids = new Set()));
  ids.add(conversation.id);
}

function insertConversation(
  t: Tables,
  conversation: ConversationRecord,
  memberIds: readonly string[],
): ConversationRecord {
  if (t.conversations.has(conversation.id)) throw idInUse('conversation', conversation.id);
  t.conversations.set(conversation.id, conversation);
  t.history.set(conversation.id, []);
  for (const userId of memberIds) join(t, conversation, userId, conversation.createdAt);
  return copyConversation(conversation);
}

function leave(t: Tables, conversationId: string, userId: string): void {
  const conversation = t.conversations.get(conversationId);
  if (!conversation) return;
  conversation.memberIds = conversation.memberIds.filter((id) => id !== userId);
  t.memberships.delete(membershipKey(conversationId, userId));
  t.conversationIdsByUser.get(userId)?.delete(conversationId);
}

function membershipsOf(t: Tables, conversation: ConversationRecord): MembershipRecord[] {
  return conversation.memberIds.map((userId) => ({ ...t.memberships.get(membershipKey(conversation.id, userId))! }));
}

/** The group's control as readers see it (control.ts). */
function controlOf(t: Tables, conversation: ConversationRecord): GroupControl {
  const memberships = membershipsOf(t, conversation);
  const stored = t.groupControls.get(conversation.id) ?? defaultControl(conversation.memberIds, memberships);
  return effectiveControl({ ...stored, adminIds: [...stored.adminIds] }, conversation.memberIds, memberships);
}

/** Most recent activity first; ties broken by id, descending, so the order is total. */
function compareActivity(a: ConversationPosition, b: ConversationPosition): number {
  const byTime = b.lastActivityAt.getTime() - a.lastActivityAt.getTime();
  if (byTime !== 0) return byTime;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * Conversations in `conversations` (direct ones also under their member pair
 * in `directByPair`), members' state in `memberships`, and each user's
 * conversations in `conversationIdsByUser`. A new conversation gets its empty
 * `history`, which the message store appends to.
 */
export function createMemoryConversationStore(t: Tables): ConversationStore {
  return {
    async getMany(ids) {
      return ids.map((id) => {
        const c = t.conversations.get(id);
        return c ? copyConversation(c) : null;
      });
    },
    async findOrCreateDirect({ id, userIds, createdAt }) {
      const pair = [...userIds].sort().join('\u0000');
      const existing = t.directByPair.get(pair);
      if (existing !== undefined) return copyConversation(t.conversations.get(existing)!);
      // Inserted first: should the id be in use, it throws before the pair points at it.
      const created = insertConversation(
        t,
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
      t.directByPair.set(pair, id);
      return created;
    },
    async createGroup({ id, title, memberIds, createdAt, kind = 'GROUP' }) {
      return insertConversation(
        t,
        {
          id,
          kind,
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
    async addMembers(conversationId, userIds, maxMembers, joinedAfterSeq): Promise<AddMembersResult> {
      const conversation = t.conversations.get(conversationId);
      if (!conversation) return { status: 'missing' };
      if (conversation.kind === 'DIRECT') return { status: 'not-a-group' };
      const after = new Set([...conversation.memberIds, ...userIds]);
      if (after.size > maxMembers) return { status: 'too-many', memberCount: after.size };
      const at = new Date();
      for (const userId of userIds) join(t, conversation, userId, at, joinedAfterSeq);
      return { status: 'ok', conversation: copyConversation(conversation) };
    },
    async removeMember(conversationId, userId) {
      leave(t, conversationId, userId);
    },
    async getControls(ids) {
      return ids.map((id) => {
        const conversation = t.conversations.get(id);
        return conversation && conversation.kind !== 'DIRECT' ? controlOf(t, conversation) : null;
      });
    },
    async changeControl(conversationId, decide): Promise<ControlOutcome> {
      const conversation = t.conversations.get(conversationId);
      if (!conversation) return { status: 'missing' };
      if (conversation.kind === 'DIRECT') return { status: 'not-a-group' };
      // Decided and applied without yielding: nothing else runs in between.
      const current = controlOf(t, conversation);
      const decision = decide({
        control: current,
        memberIds: [...conversation.memberIds],
        memberships: membershipsOf(t, conversation),
      });
      if ('refused' in decision) return { status: 'refused', reason: decision.refused };
      const control = { ...decision.control, adminIds: [...decision.control.adminIds], version: current.version + 1 };
      t.groupControls.set(conversationId, control);
      if (decision.removeId) leave(t, conversationId, decision.removeId);
      return { status: 'ok', control: controlOf(t, conversation), conversation: copyConversation(conversation) };
    },
    async setTitle(conversationId, title) {
      const conversation = t.conversations.get(conversationId);
      if (conversation) conversation.title = title;
    },
    async getMemberships(keys) {
      return keys.map(({ conversationId, userId }) => {
        const m = t.memberships.get(membershipKey(conversationId, userId));
        return m ? { ...m } : null;
      });
    },
    async listForUser(userId, { first, after }) {
      const mine = [...(t.conversationIdsByUser.get(userId) ?? [])].map((id) => t.conversations.get(id)!);
      mine.sort(compareActivity);
      const start = after ? mine.findIndex((c) => compareActivity(c, after) > 0) : 0;
      if (start < 0) return [];
      return mine.slice(start, start + first).map(copyConversation);
    },
    async listAllForUser(userId) {
      return [...(t.conversationIdsByUser.get(userId) ?? [])].map((id) => copyConversation(t.conversations.get(id)!));
    },
    async markRead(conversationId, userId, seq, messageId) {
      const m = t.memberships.get(membershipKey(conversationId, userId));
      if (!m) return null;
      const advanced = seq > m.lastReadSeq;
      if (advanced) {
        m.lastReadSeq = seq;
        m.lastReadMessageId = messageId;
      }
      return { membership: { ...m }, advanced };
    },
    async setMute(conversationId, userId, until) {
      const m = t.memberships.get(membershipKey(conversationId, userId));
      if (!m) return null;
      m.mutedUntil = until;
      return { ...m };
    },
    async readPositions(conversationIds) {
      return conversationIds.map((id) =>
        (t.conversations.get(id)?.memberIds ?? []).map((userId) => ({
          ...t.memberships.get(membershipKey(id, userId))!,
        })),
      );
    },
  };
}
