import { publishMessageUpdated } from '../conversationEvents/event';
import { badInput, forbidden, messageNotFound } from '../contract/errors';
import { limits } from '../contract/limits';
import type { Resolvers } from '../generated/graphql';
import { publishMessage } from '../messaging/event';
import { mentionedUsernames } from '../messaging/mentions';
import { openMessageStream } from '../messaging/stream';
import type { MessageChange, MessageRecord } from '../store/store';
import { optionalViewerId, requireMembership, requireNoBlock, requireViewer, spend } from './access';
import { connection } from './connection';
import { encryptedOnly } from './encryption';
import { deleteUploads, requireAttachable } from './media';
import type { Context } from './context';
import { usersOf } from './users';
import { checkClientMessageId, checkContent, checkEmoji, pageSize } from './validate';

/** The seq of a cursor (a message id) of this conversation; BAD_USER_INPUT otherwise. */
async function cursorSeq(ctx: Context, conversationId: string, field: string, cursor: string): Promise<number> {
  const message = await ctx.loaders.messages.load(cursor);
  if (!message || message.conversationId !== conversationId) {
    throw badInput(field, 'not a message id of this conversation');
  }
  return message.seq;
}

const messageCursor = (m: MessageRecord) => m.id;

/**
 * The seq of each position, by conversation: each a conversation of the
 * viewer (FORBIDDEN as for conversationId), listed once, with a message id of
 * that conversation.
 */
async function positionSeqs(
  ctx: Context,
  positions: readonly { conversationId: string; after: string }[],
): Promise<Map<string, number>> {
  if (positions.length > limits.positionsMax) throw badInput('positions', `at most ${limits.positionsMax}`);
  const ids = positions.map((p) => p.conversationId);
  if (new Set(ids).size !== ids.length) throw badInput('positions', 'lists a conversation more than once');
  const seqs = await Promise.all(
    positions.map(async ({ conversationId, after }) => {
      const { conversation } = await requireMembership(ctx, conversationId);
      return [conversation.id, await cursorSeq(ctx, conversation.id, 'positions', after)] as const;
    }),
  );
  return new Map(seqs);
}

/**
 * A message of a conversation the viewer belongs to, and that conversation:
 * NOT_FOUND when there is no such message, and the same error, word for word,
 * when it is in a conversation of others, so that ids reveal nothing.
 */
export async function requireMessage(ctx: Context, messageId: string) {
  const viewer = await requireViewer(ctx);
  const message = await ctx.loaders.messages.load(messageId);
  const conversation = message && (await ctx.loaders.conversations.load(message.conversationId));
  if (!message || !conversation?.memberIds.includes(viewer.id)) throw messageNotFound();
  return { viewer, message, conversation };
}

/**
 * The changed message, published to the members (not pushed: only new
 * messages are), or the error a change that did not apply means.
 */
async function applied(ctx: Context, memberIds: readonly string[], change: MessageChange): Promise<MessageRecord> {
  switch (change.status) {
    case 'missing':
      throw messageNotFound();
    case 'deleted':
      throw badInput('messageId', 'the message is deleted');
    case 'too-many':
      throw badInput('emoji', `a message carries at most ${limits.reactionsMax} distinct emoji`);
    case 'ok':
      break;
  }
  const { pubsub, log } = ctx.services;
  // Stored either way: a lost publish is made up by re-reading (conversationEvent is live only).
  await publishMessageUpdated(pubsub, memberIds, change.message).catch((error: unknown) =>
    log.warn(`publish of the change of message ${change.message.id} failed`, error),
  );
  ctx.loaders.messages.clear(change.message.id).prime(change.message.id, change.message);
  return change.message;
}

/** Whether a change to the message is the same as it already is: nothing to store or publish. */
const unchanged = (change: MessageChange, before: MessageRecord) =>
  change.status === 'ok' && JSON.stringify(change.message) === JSON.stringify(before);

/** History, sending and live delivery of messages. */
/** The id of the message `replyToId` names, if it is one of this conversation's; BAD_USER_INPUT otherwise. */
async function requireReplyTarget(ctx: Context, conversationId: string, replyToId: string): Promise<string> {
  const original = await ctx.loaders.messages.load(replyToId);
  if (!original || original.conversationId !== conversationId) {
    throw badInput('replyToId', 'is not a message of this conversation');
  }
  return original.id;
}

/**
 * Claims the uploads for the message about to be stored with `messageId`: exactly one of
 * concurrent sends of one upload gets it. When another message holds one, the result is that
 * message if this send is its retry (same sender, conversation and clientMessageId), else
 * BAD_USER_INPUT.
 */
async function claimAttachments(
  ctx: Context,
  uploadIds: readonly string[],
  messageId: string,
  { conversationId, clientId }: { conversationId: string; clientId: string | null },
): Promise<MessageRecord | null> {
  const claim = await ctx.services.store.uploads.claim(uploadIds, messageId);
  if (claim.status === 'ok') return null;
  if (clientId !== null && claim.holder !== null) {
    const [holder] = await ctx.services.store.messages.getMany([claim.holder]);
    if (holder?.conversationId === conversationId && holder.clientMessageId === clientId) return holder;
  }
  throw badInput('attachmentIds', `${claim.uploadId} has been sent already`);
}

/** The members `content` mentions as @username, in order of first mention. */
async function mentionedMembers(ctx: Context, memberIds: readonly string[], content: string): Promise<string[]> {
  const names = mentionedUsernames(content);
  if (names.length === 0) return [];
  const byName = new Map((await usersOf(ctx, memberIds)).map((u) => [u.username, u.id]));
  return names.flatMap((name) => byName.get(name) ?? []);
}

export const messageResolvers: Resolvers = {
  Query: {
    messages: async (_parent, { conversationId, first, after, last, before }, ctx) => {
      const { conversation } = await requireMembership(ctx, conversationId);
      const firstN = pageSize('first', first);
      const lastN = pageSize('last', last);
      if (firstN !== null && lastN !== null) throw badInput('last', 'give first or last, not both');
      const afterSeq = after ? await cursorSeq(ctx, conversation.id, 'after', after) : undefined;
      const beforeSeq = before ? await cursorSeq(ctx, conversation.id, 'before', before) : undefined;
      const { store } = ctx.services;
      if (firstN !== null) {
        const rows = await store.messages.page(conversation.id, {
          afterSeq,
          beforeSeq,
          limit: firstN + 1,
          from: 'oldest',
        });
        return connection(rows.slice(0, firstN), messageCursor, {
          hasPreviousPage: afterSeq !== undefined,
          hasNextPage: rows.length > firstN,
        });
      }
      const n = lastN ?? limits.messagesDefault;
      const rows = await store.messages.page(conversation.id, { afterSeq, beforeSeq, limit: n + 1, from: 'newest' });
      // The newest n of the rows; all of them when fewer remain (a negative slice start would cut them).
      return connection(rows.slice(Math.max(0, rows.length - n)), messageCursor, {
        hasPreviousPage: rows.length > n,
        hasNextPage: beforeSeq !== undefined,
      });
    },
  },

  Mutation: {
    sendMessage: async (_parent, { conversationId, content, clientMessageId, replyToId, attachmentIds }, ctx) => {
      const started = performance.now();
      const { store, pubsub, ids, now, limiters, log, push, metrics } = ctx.services;
      const { viewer, conversation } = await requireMembership(ctx, conversationId);
      if (conversation.kind === 'ENCRYPTED') throw encryptedOnly();
      const attached = attachmentIds ?? [];
      checkContent(content, { allowEmpty: attached.length > 0 });
      const clientId = checkClientMessageId(clientMessageId);
      if (conversation.kind === 'DIRECT') {
        const other = conversation.memberIds.find((id) => id !== viewer.id);
        if (other !== undefined) await requireNoBlock(ctx, viewer.id, other, 'send them messages');
      }
      const replyTo = replyToId == null ? null : await requireReplyTarget(ctx, conversation.id, replyToId);
      const mentionIds = await mentionedMembers(ctx, conversation.memberIds, content);
      if (attached.length > 0) await requireAttachable(ctx, viewer.id, attached);
      await spend(ctx, limiters.messages, viewer.id);
      const id = ids.next();
      if (attached.length > 0) {
        const retried = await claimAttachments(ctx, attached, id, { conversationId: conversation.id, clientId });
        if (retried) return retried;
      }
      let appended;
      try {
        appended = await store.messages.append({
          replyToId: replyTo,
          mentionIds,
          attachmentIds: attached,
          id,
          conversationId: conversation.id,
          senderId: viewer.id,
          content,
          clientMessageId: clientId,
          createdAt: now(),
        });
      } catch (error) {
        await store.uploads.release(attached, id);
        throw error;
      }
      const { message, created } = appended;
      // A retry found its original, which holds its own attachments: this one's claims go back.
      if (!created && attached.length > 0) await store.uploads.release(attached, id);
      // Published on every send, retries included: subscribers drop what they already have,
      // and a retry after a lost publish still reaches them.
      const failed = await publishMessage(pubsub, conversation.memberIds, message);
      metrics.sendToPublishSeconds.observe((performance.now() - started) / 1000);
      if (created) metrics.messagesSent.inc();
      // The message is stored: a failed publish is recovered by subscribers' gap reads and `after`.
      if (failed) log.warn(`publish of message ${message.id} failed`, failed.failure);
      // Queued, never awaited: push cannot delay or fail a send. A retry is not pushed twice.
      if (created) push.notify(message, conversation);
      return message;
    },

    editMessage: async (_parent, { messageId, content }, ctx) => {
      const { viewer, message, conversation } = await requireMessage(ctx, messageId);
      if (conversation.kind === 'ENCRYPTED') throw encryptedOnly('messageId');
      if (message.senderId !== viewer.id) throw forbidden('Only the sender can edit a message.');
      checkContent(content);
      await spend(ctx, ctx.services.limiters.messages, viewer.id);
      const change = await ctx.services.store.messages.edit(message.id, content, ctx.services.now());
      return applied(ctx, conversation.memberIds, change);
    },

    deleteMessage: async (_parent, { messageId }, ctx) => {
      const { viewer, message, conversation } = await requireMessage(ctx, messageId);
      if (message.senderId !== viewer.id) throw forbidden('Only the sender can delete a message.');
      if (message.deletedAt) return message;
      const change = await ctx.services.store.messages.delete(message.id, ctx.services.now());
      const deleted = await applied(ctx, conversation.memberIds, change);
      // Its files go with it (they are claimed by it, so nothing else can use them meanwhile).
      await deleteUploads(ctx, message.attachmentIds);
      return deleted;
    },

    addReaction: async (_parent, { messageId, emoji }, ctx) => {
      const { viewer, message, conversation } = await requireMessage(ctx, messageId);
      if (conversation.kind === 'ENCRYPTED') throw encryptedOnly('messageId');
      checkEmoji(emoji);
      if (message.reactions.some((r) => r.emoji === emoji && r.userIds.includes(viewer.id))) return message;
      await spend(ctx, ctx.services.limiters.messages, viewer.id);
      const { store, now } = ctx.services;
      const change = await store.messages.react(message.id, viewer.id, emoji, now(), limits.reactionsMax);
      if (unchanged(change, message)) return message;
      return applied(ctx, conversation.memberIds, change);
    },

    removeReaction: async (_parent, { messageId, emoji }, ctx) => {
      const { viewer, message, conversation } = await requireMessage(ctx, messageId);
      if (conversation.kind === 'ENCRYPTED') throw encryptedOnly('messageId');
      checkEmoji(emoji);
      if (!message.reactions.some((r) => r.emoji === emoji && r.userIds.includes(viewer.id))) return message;
      const change = await ctx.services.store.messages.unreact(message.id, viewer.id, emoji);
      if (unchanged(change, message)) return message;
      return applied(ctx, conversation.memberIds, change);
    },
  },

  Subscription: {
    messageAdded: {
      subscribe: async (_parent, { conversationId, after, positions }, ctx) => {
        if (after && !conversationId) throw badInput('after', 'needs conversationId');
        if (positions && conversationId) throw badInput('positions', 'give positions or conversationId, not both');
        let userId: string;
        let afterSeq: number | undefined;
        let resumeAfter: Map<string, number> | undefined;
        if (conversationId) {
          const { viewer, conversation } = await requireMembership(ctx, conversationId);
          userId = viewer.id;
          afterSeq = after ? await cursorSeq(ctx, conversation.id, 'after', after) : undefined;
        } else {
          userId = (await requireViewer(ctx)).id;
          if (positions) resumeAfter = await positionSeqs(ctx, positions);
        }
        const { store, pubsub, metrics } = ctx.services;
        return openMessageStream({
          store,
          pubsub,
          userId,
          conversationId: conversationId ?? undefined,
          afterSeq,
          resumeAfter,
          budget: ctx.budget,
          onDelivered: (count) => metrics.deliveries.inc(count),
        });
      },
      resolve: (message: MessageRecord) => message,
    },
  },

  Message: {
    sender: async (m, _args, ctx) => {
      const sender = await ctx.loaders.users.load(m.senderId);
      if (!sender) throw new Error(`message ${m.id} names unknown sender ${m.senderId}`);
      return sender;
    },
    reactions: (m) => (m.deletedAt ? [] : m.reactions),
    replyTo: async (m, _args, ctx) => {
      if (m.replyToId === null) return null;
      // Through the loader: a page of replies reads the messages they reply to in one batch.
      const original = await ctx.loaders.messages.load(m.replyToId);
      return original && !original.deletedAt ? original : null;
    },
    mentions: (m, _args, ctx) => usersOf(ctx, m.mentionIds),
  },

  Reaction: {
    count: (r) => r.userIds.length,
    // From the record itself: no lookup at all, whatever the number of messages.
    reactedByViewer: (r, _args, ctx) => {
      const viewer = optionalViewerId(ctx);
      return viewer !== null && r.userIds.includes(viewer);
    },
  },
};
