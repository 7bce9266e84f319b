import { publishTyping, type ConversationEventRecord } from '../conversationEvents/event';
import { openConversationEventStream } from '../conversationEvents/stream';
import { limits } from '../contract/limits';
import type { Resolvers } from '../generated/graphql';
import { isBlockedEitherWay, requireMembership, requireViewer } from './access';
import type { Context } from './context';
import { usersOf } from './users';

async function requireUser(ctx: Context, id: string) {
  const user = await ctx.loaders.users.load(id);
  if (!user) throw new Error(`conversation event names unknown user ${id}`);
  return user;
}

/** Typing and the live stream of conversation events other than new messages. */
export const conversationEventResolvers: Resolvers = {
  Mutation: {
    setTyping: async (_parent, { conversationId, typing }, ctx) => {
      const { viewer, conversation } = await requireMembership(ctx, conversationId);
      const { pubsub, limiters, typingShown, log } = ctx.services;
      if (conversation.kind === 'DIRECT') {
        // Nothing to show across a block, and nothing said about it either.
        const other = conversation.memberIds.find((id) => id !== viewer.id);
        const blocked = other !== undefined && (await isBlockedEitherWay(ctx, viewer.id, other));
        if (blocked) return true;
      }
      const key = `${viewer.id}:${conversation.id}`;
      if (typing) {
        // Renewals within the throttle's window are absorbed: every stream keeps the indicator for 6 s anyway.
        if ((await limiters.typing.take(key)) > 0) return true;
        // Should Redis be out of reach, the stop that follows is announced anyway (see below).
        await typingShown.raise(key, limits.typingShownMs).catch(() => undefined);
      } else if (!(await typingShown.lower(key).catch(() => true))) {
        // Not shown (never, or already stopped): nothing changed, nothing to say. A stop grants no new
        // allowance either, so toggling true and false publishes no more than typing alone does.
        return true;
      }
      // Never stored: should the publish fail, the indicator is simply not shown (or ends at its expiry).
      await publishTyping(pubsub, conversation.memberIds, conversation.id, viewer.id, typing).catch((error: unknown) =>
        log.warn(`publish of typing in ${conversation.id} failed`, error),
      );
      return true;
    },
  },

  Subscription: {
    conversationEvent: {
      subscribe: async (_parent, { conversationId }, ctx) => {
        const viewer = conversationId
          ? (await requireMembership(ctx, conversationId)).viewer
          : await requireViewer(ctx);
        const { store, pubsub } = ctx.services;
        return openConversationEventStream({
          store,
          pubsub,
          userId: viewer.id,
          conversationId: conversationId ?? undefined,
          budget: ctx.budget,
          typingMs: limits.typingShownMs,
        });
      },
      resolve: (event: ConversationEventRecord) => event,
    },
  },

  ConversationEvent: {
    __resolveType: (event) => event.kind,
  },

  TypingChanged: {
    user: (event, _args, ctx) => requireUser(ctx, event.userId),
  },

  MembersChanged: {
    conversation: async (event, _args, ctx) => {
      const conversation = await ctx.loaders.conversations.load(event.conversationId);
      if (!conversation) throw new Error(`members changed in unknown conversation ${event.conversationId}`);
      return conversation;
    },
    joined: (event, _args, ctx) => usersOf(ctx, event.joinedIds),
    left: (event, _args, ctx) => usersOf(ctx, event.leftIds),
  },
};
