import { requireViewer } from '../context';
import { badInput } from '../errors';
import type { Resolvers } from '../generated/graphql';
import { limits } from '../limits';

function checkToken(token: string): string {
  const trimmed = token.trim();
  if (trimmed.length === 0 || trimmed.length > limits.pushTokenMax) {
    throw badInput('token', `must be 1 to ${limits.pushTokenMax} characters`);
  }
  return trimmed;
}

/** Devices' push tokens. */
export const pushResolvers: Resolvers = {
  Mutation: {
    registerPushToken: async (_parent, { token, platform }, ctx) => {
      const viewer = await requireViewer(ctx);
      await ctx.services.store.pushTokens.register({ token: checkToken(token), userId: viewer.id, platform });
      return true;
    },
    unregisterPushToken: async (_parent, { token }, ctx) => {
      const viewer = await requireViewer(ctx);
      await ctx.services.store.pushTokens.unregister(viewer.id, checkToken(token));
      return true;
    },
  },
};
