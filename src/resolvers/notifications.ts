import { badInput } from '../contract/errors';
import type { Resolvers } from '../generated/graphql';
import { MUTED_FOREVER } from '../store/store';
import { requireMembership, viewerId } from './access';

/** Mutes: which conversations push to the viewer (the push notifier reads them). */
export const notificationResolvers: Resolvers = {
  Mutation: {
    muteConversation: async (_parent, { conversationId, until }, ctx) => {
      const { viewer, conversation } = await requireMembership(ctx, conversationId);
      if (until != null && until <= ctx.services.now()) throw badInput('until', 'has passed: give a later instant');
      if (until != null && until > MUTED_FOREVER)
        throw badInput('until', `must be at most ${MUTED_FOREVER.toISOString()}`);
      await ctx.services.store.conversations.setMute(conversation.id, viewer.id, until ?? MUTED_FOREVER);
      ctx.loaders.memberships.clearAll();
      return conversation;
    },

    unmuteConversation: async (_parent, { conversationId }, ctx) => {
      const { viewer, conversation } = await requireMembership(ctx, conversationId);
      await ctx.services.store.conversations.setMute(conversation.id, viewer.id, null);
      ctx.loaders.memberships.clearAll();
      return conversation;
    },
  },

  Conversation: {
    mutedUntil: async (c, _args, ctx) => {
      const membership = await ctx.loaders.memberships.load({ conversationId: c.id, userId: viewerId(ctx) });
      const until = membership?.mutedUntil ?? null;
      // A mute that ended is no mute.
      return until && until > ctx.services.now() ? until : null;
    },
  },
};
