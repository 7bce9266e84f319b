import { limits } from '../contract/limits';
import type { Resolvers } from '../generated/graphql';
import { requireViewer, spend } from './access';
import { checkPushToken } from './validate';

/** Devices' push tokens: each belongs to the account that registered it last. */
export const pushResolvers: Resolvers = {
  Mutation: {
    registerPushToken: async (_parent, { token, platform }, ctx) => {
      const viewer = await requireViewer(ctx);
      const checked = checkPushToken(token);
      const { store, limiters, now } = ctx.services;
      await spend(ctx, limiters.pushTokens, viewer.id);
      // Moves the token from whoever held it: their pushes, read per message, no longer go there.
      await store.pushTokens.register({ token: checked, userId: viewer.id, platform }, now(), limits.pushTokensPerUser);
      return true;
    },
    unregisterPushToken: async (_parent, { token }, ctx) => {
      const viewer = await requireViewer(ctx);
      await ctx.services.store.pushTokens.unregister(viewer.id, checkPushToken(token));
      return true;
    },
  },
};
