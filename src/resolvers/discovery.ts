import { requireViewer } from './access';
import type { Resolvers } from '../generated/graphql';

/** Where clients should connect. */
export const discoveryResolvers: Resolvers = {
  Query: {
    chatServer: async (_parent, _args, ctx) => {
      await requireViewer(ctx);
      return ctx.services.discovery.leastLoaded();
    },
  },
};
