import { badInput } from '../contract/errors';
import { limits } from '../contract/limits';
import type { Resolvers } from '../generated/graphql';
import type { PresenceRecord } from '../presence/presence';
import { openPresenceStream } from '../presence/stream';
import { requireViewer } from './access';
import type { Context } from './context';
import { distinct } from './validate';

/** `subjectId`'s presence if `viewerId` may see it (themselves or a mutual friend), else null. */
export async function visiblePresence(
  ctx: Context,
  viewerId: string | null,
  subjectId: string,
): Promise<PresenceRecord | null> {
  if (viewerId === null) return null;
  if (subjectId !== viewerId && !(await ctx.loaders.friendIds.load(viewerId)).has(subjectId)) return null;
  return ctx.loaders.presence.load(subjectId);
}

/** Presence queries and the friends' presence stream. */
export const presenceResolvers: Resolvers = {
  Query: {
    presence: async (_parent, { userIds }, ctx) => {
      const viewer = await requireViewer(ctx);
      if (userIds.length > limits.idListMax) throw badInput('userIds', `at most ${limits.idListMax} ids`);
      const found = await Promise.all(distinct(userIds).map((id) => visiblePresence(ctx, viewer.id, id)));
      return found.filter((p): p is PresenceRecord => p !== null);
    },
  },

  Subscription: {
    presenceChanged: {
      subscribe: async (_parent, _args, ctx) => {
        const viewer = await requireViewer(ctx);
        const { store, pubsub, presence } = ctx.services;
        return openPresenceStream({ store, pubsub, presence, viewerId: viewer.id, budget: ctx.budget });
      },
      resolve: (record: PresenceRecord) => record,
    },
  },
};
