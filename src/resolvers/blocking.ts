import { badInput } from '../contract/errors';
import { limits } from '../contract/limits';
import type { Resolvers } from '../generated/graphql';
import { publishFriendsChanged } from '../presence/events';
import { requireUsers, requireViewer } from './access';
import { usersOf } from './users';

/** Blocking other users. */
export const blockingResolvers: Resolvers = {
  Query: {
    blockedUsers: async (_parent, _args, ctx) => {
      const viewer = await requireViewer(ctx);
      return usersOf(ctx, await ctx.services.store.blocks.listBlocked(viewer.id));
    },
  },

  Mutation: {
    blockUser: async (_parent, { userId }, ctx) => {
      const viewer = await requireViewer(ctx);
      if (userId === viewer.id) throw badInput('userId', 'you cannot block yourself');
      await requireUsers(ctx, [userId]);
      const { store, pubsub, now } = ctx.services;
      const blocked = await store.blocks.listBlocked(viewer.id);
      if (blocked.length >= limits.blocksMax && !blocked.includes(userId)) {
        throw badInput('userId', `you can block at most ${limits.blocksMax} users; unblock someone first`);
      }
      // The block first: from then on the friendship cannot be made again (see addFriend).
      await store.blocks.block(viewer.id, userId, now());
      await store.friends.remove(viewer.id, userId);
      // Presence streams of both drop each other now, not at their next reconnect.
      await publishFriendsChanged(pubsub, viewer.id, userId);
      return true;
    },

    unblockUser: async (_parent, { userId }, ctx) => {
      const viewer = await requireViewer(ctx);
      if (userId === viewer.id) throw badInput('userId', 'you cannot unblock yourself');
      await requireUsers(ctx, [userId]);
      await ctx.services.store.blocks.unblock(viewer.id, userId);
      return true;
    },
  },
};
