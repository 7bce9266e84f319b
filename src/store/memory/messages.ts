import {
  idInUse,
  type MessageChange,
  type MessageRange,
  type MessageRecord,
  type MessageStore,
  type MlsPayloadRecord,
  type NewMessage,
} from '../store';
import type { Tables } from './tables';

const copyMessage = (m: MessageRecord): MessageRecord => ({
  ...m,
  reactions: m.reactions.map((r) => ({ emoji: r.emoji, userIds: [...r.userIds] })),
  mentionIds: [...m.mentionIds],
  attachmentIds: [...m.attachmentIds],
  mls: m.mls ? copyMls(m.mls) : null,
});

const copyMls = (mls: MlsPayloadRecord): MlsPayloadRecord => ({
  ...mls,
  change: mls.change && {
    leaves: [...mls.change.leaves],
    addedUserIds: [...mls.change.addedUserIds],
    removedUserIds: [...mls.change.removedUserIds],
  },
});

/** The key under which a conversation's commit for one epoch is kept (one per epoch). */
const commitKeyOf = (conversationId: string, epoch: number) => `mls-commit\u0000${conversationId}\u0000${epoch}`;

/** Applies `change` to a stored message that is not deleted. */
function changeMessage(t: Tables, id: string, change: (m: MessageRecord) => MessageChange | void): MessageChange {
  const message = t.messagesById.get(id);
  if (!message) return { status: 'missing' };
  if (message.deletedAt) return { status: 'deleted', message: copyMessage(message) };
  return change(message) ?? { status: 'ok', message: copyMessage(message) };
}

/**
 * Each conversation's messages in `history`, in `seq` order, also found by id
 * in `messagesById` and by (sender, conversation, clientMessageId) in
 * `messageIdByClientKey`. Appending moves the conversation's newest message
 * and activity in `conversations`.
 */
export function createMemoryMessageStore(t: Tables): MessageStore {
  return {
    async append(input: NewMessage) {
      const clientKey =
        input.clientMessageId === null
          ? null
          : `${input.senderId}\u0000${input.conversationId}\u0000${input.clientMessageId}`;
      if (clientKey !== null) {
        const originalId = t.messageIdByClientKey.get(clientKey);
        if (originalId !== undefined) return { message: copyMessage(t.messagesById.get(originalId)!), created: false };
      }
      const commitKey = input.mls?.kind === 'COMMIT' ? commitKeyOf(input.conversationId, input.mls.epoch) : null;
      if (commitKey !== null) {
        const stored = t.messageIdByClientKey.get(commitKey);
        if (stored !== undefined) return { message: copyMessage(t.messagesById.get(stored)!), created: false };
      }
      const conversation = t.conversations.get(input.conversationId);
      const messages = t.history.get(input.conversationId);
      if (!conversation || !messages) throw new Error(`append: no conversation ${input.conversationId}`);
      if (t.messagesById.has(input.id)) throw idInUse('message', input.id);
      const message: MessageRecord = {
        ...input,
        seq: messages.length + 1,
        editedAt: null,
        deletedAt: null,
        reactions: [],
        replyToId: input.replyToId ?? null,
        mentionIds: [...(input.mentionIds ?? [])],
        attachmentIds: [...(input.attachmentIds ?? [])],
        mls: input.mls ? copyMls(input.mls) : null,
      };
      messages.push(message);
      t.messagesById.set(message.id, message);
      if (clientKey !== null) t.messageIdByClientKey.set(clientKey, message.id);
      if (commitKey !== null) t.messageIdByClientKey.set(commitKey, message.id);
      conversation.lastSeq = message.seq;
      conversation.lastMessageId = message.id;
      // Clocks of different processes differ a little: activity never moves backwards.
      if (message.createdAt > conversation.lastActivityAt) conversation.lastActivityAt = message.createdAt;
      return { message: copyMessage(message), created: true };
    },
    async findCommit(conversationId, epoch) {
      const id = t.messageIdByClientKey.get(commitKeyOf(conversationId, epoch));
      return id === undefined ? null : copyMessage(t.messagesById.get(id)!);
    },
    async getMany(ids) {
      return ids.map((id) => {
        const m = t.messagesById.get(id);
        return m ? copyMessage(m) : null;
      });
    },
    async page(conversationId, { afterSeq = 0, beforeSeq, limit, from }: MessageRange) {
      const messages = t.history.get(conversationId) ?? [];
      // seq s sits at index s - 1: the window is indexes [afterSeq, beforeSeq - 1).
      const lo = Math.max(0, afterSeq);
      const hi = Math.min(messages.length, beforeSeq === undefined ? messages.length : beforeSeq - 1);
      if (hi <= lo || limit <= 0) return [];
      const slice =
        from === 'oldest' ? messages.slice(lo, Math.min(hi, lo + limit)) : messages.slice(Math.max(lo, hi - limit), hi);
      return slice.map(copyMessage);
    },
    async countUnread(conversationId, afterSeq, userId) {
      const messages = t.history.get(conversationId) ?? [];
      let count = 0;
      for (let i = Math.max(0, afterSeq); i < messages.length; i++) if (messages[i]!.senderId !== userId) count++;
      return count;
    },
    async edit(id, content, editedAt) {
      return changeMessage(t, id, (m) => {
        m.content = content;
        m.editedAt = editedAt;
      });
    },
    async delete(id, deletedAt) {
      const message = t.messagesById.get(id);
      if (!message) return { status: 'missing' };
      if (!message.deletedAt) Object.assign(message, { content: '', deletedAt, reactions: [] });
      return { status: 'ok', message: copyMessage(message) };
    },
    async react(id, userId, emoji, _at, maxDistinct) {
      return changeMessage(t, id, (m) => {
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
      const message = t.messagesById.get(id);
      if (!message) return { status: 'missing' };
      const reaction = message.reactions.find((r) => r.emoji === emoji);
      if (reaction) {
        reaction.userIds = reaction.userIds.filter((u) => u !== userId);
        if (reaction.userIds.length === 0) message.reactions = message.reactions.filter((r) => r !== reaction);
      }
      return { status: 'ok', message: copyMessage(message) };
    },
    async listUndeletedBySender(senderId, limit) {
      const found: MessageRecord[] = [];
      for (const m of t.messagesById.values()) {
        if (found.length >= limit) break;
        if (m.senderId === senderId && !m.deletedAt) found.push(copyMessage(m));
      }
      return found;
    },
  };
}
