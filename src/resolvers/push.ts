import type { Resolvers } from '../generated/graphql';
import { requireViewer } from './access';
import { checkPushToken } from './validate';

/** Devices' push tokens. */
export const pushResolvers: Resolvers = {
  Mutation: {
    registerPushToken: async (_parent, { token, platform }, ctx) => {
      const viewer = await requireViewer(ctx);
      await ctx.services.store.pushTokens.register({ token: checkPushToken(token), userId: viewer.id, platform });
      return true;
    },
    unregisterPushToken: async (_parent, { token }, ctx) => {
      const viewer = await requireViewer(ctx);
      await ctx.services.store.pushTokens.unregister(viewer.id, checkPushToken(token));
      return true;
    },
  },
};
