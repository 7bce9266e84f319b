import { requireViewer, type Context } from '../context';
import { badInput } from '../errors';
import type { Resolvers } from '../generated/graphql';
import { limits } from '../limits';
import type { PresenceRecord } from '../presence';
import { eventsOnly } from '../pubsub/pubsub';
import { distinct } from './access';

/**
 * `subjectId`'s presence if `viewerId` may see it, else null. Until friends'
 * presence is built, only the viewer's own is visible.
 */
export async function visiblePresence(ctx: Context, viewerId: string | null, subjectId: string): Promise<PresenceRecord | null> {
  return subjectId === viewerId ? ctx.services.presence.get(subjectId) : null;
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
        // Nothing publishes friends' presence yet: the stream stays open and quiet.
        return eventsOnly(await ctx.services.pubsub.subscribe('presenceChanged', `user:${viewer.id}`));
      },
      resolve: (event: { userId: string; status: 'ONLINE' | 'OFFLINE'; lastActiveAt: string | null }) => ({
        userId: event.userId,
        status: event.status,
        lastActiveAt: event.lastActiveAt === null ? null : new Date(event.lastActiveAt),
      }),
    },
  },
};
