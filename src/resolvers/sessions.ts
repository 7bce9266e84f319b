import { checkAuth, unknownAccount } from '../auth/session';
import { deviceNameOf, type Grant } from '../auth/sessions';
import { unauthenticated } from '../contract/errors';
import type { Resolvers } from '../generated/graphql';
import type { UserRecord } from '../store/store';
import { requireViewer } from './access';
import type { Context } from './context';

/** What signUp, logIn, renewSession and refreshToken answer. */
export function authPayload(grant: Grant, user: UserRecord) {
  return { ...grant, session: { ...grant.session, current: true }, user };
}

/** The name a new session gets: the client's, else its User-Agent. */
export function deviceNameFor(ctx: Context, given: string | null | undefined): string | null {
  return deviceNameOf(given ?? ctx.userAgent);
}

/** Sessions: renewal, listing and revocation (signUp and logIn start them: resolvers/users.ts). */
export const sessionResolvers: Resolvers = {
  Query: {
    sessions: async (_parent, _args, ctx) => {
      const viewer = await requireViewer(ctx);
      const { sessionId } = checkAuth(ctx.auth, ctx.services.now());
      const sessions = await ctx.services.sessions.list(viewer.id);
      return sessions.map((s) => ({ ...s, current: s.id === sessionId }));
    },
  },

  Mutation: {
    renewSession: async (_parent, { refreshToken }, ctx) => {
      const { services } = ctx;
      // Not rate-limited as logIn is: a refresh token is 256 random bits, not something to guess.
      if (refreshToken.length > 256) throw unauthenticated('Unknown refresh token: log in again.');
      const grant = await services.sessions.renew(refreshToken);
      const [user] = await services.store.users.getMany([grant.session.userId]);
      if (!user) throw unknownAccount();
      return authPayload(grant, user);
    },

    revokeSession: async (_parent, { sessionId }, ctx) => {
      const viewer = await requireViewer(ctx);
      await ctx.services.sessions.end(viewer.id, sessionId, 'revoked');
      return true;
    },
  },
};
