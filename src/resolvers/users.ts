import { hashPassword, verifyPassword } from '../auth/passwords';
import { checkAuth, unknownAccount } from '../auth/session';
import { accountSuspended, badInput, conflict, forbidden, notFound, unauthenticated } from '../contract/errors';
import { limits } from '../contract/limits';
import type { Resolvers } from '../generated/graphql';
import { publishFriendsChanged } from '../presence/events';
import type { UserRecord } from '../store/store';
import { blocksBetween, hashing, optionalViewerId, requireUsers, requireViewer, spend } from './access';
import type { Context } from './context';
import { authPayload, deviceNameFor } from './sessions';
import { visiblePresence } from './presence';
import { checkPassword, normalizeUsername, pageSize, printableName } from './validate';

function normalizeDisplayName(displayName: string | null | undefined, username: string): string {
  if (displayName === null || displayName === undefined) return username;
  return printableName('displayName', displayName, limits.displayNameMax);
}

/**
 * The user whose username and password these are, or null. An unknown username
 * costs a hash too, so that it takes as long as a wrong password.
 */
async function checkCredentials(ctx: Context, name: string, password: string): Promise<UserRecord | null> {
  const { store, passwordParams } = ctx.services;
  const found = limits.usernamePattern.test(name) ? await store.users.findCredentials(name) : null;
  const matches = await hashing(ctx, () =>
    found && password.length <= limits.passwordMax * 4
      ? verifyPassword(password, found.passwordHash)
      : hashPassword('not the password', passwordParams).then(() => false),
  );
  return matches && found ? found.user : null;
}

/** Users, in order, skipping ids with no user. */
export async function usersOf(ctx: Context, ids: readonly string[]): Promise<UserRecord[]> {
  const users = await ctx.loaders.users.loadMany(ids);
  return users.filter((u): u is UserRecord => u !== null && !(u instanceof Error));
}

/** Accounts, friends and user search. */
export const userResolvers: Resolvers = {
  Query: {
    me: (_parent, _args, ctx) => requireViewer(ctx),

    user: async (_parent, { id }, ctx) => {
      await requireViewer(ctx);
      return ctx.loaders.users.load(id);
    },

    searchUsers: async (_parent, { prefix, first }, ctx) => {
      await requireViewer(ctx);
      const limit = pageSize('first', first) ?? 20;
      const wanted = prefix.trim().toLowerCase();
      if (wanted.length === 0 || wanted.length > 32) throw badInput('prefix', 'must be 1 to 32 characters');
      if (limit === 0 || !/^[a-z0-9_]+$/.test(wanted)) return [];
      return ctx.services.store.users.searchByPrefix(wanted, limit);
    },

    friends: async (_parent, _args, ctx) => {
      const viewer = await requireViewer(ctx);
      // Through the loader: the presence of each friend checks the same list.
      return usersOf(ctx, [...(await ctx.loaders.friendIds.load(viewer.id))]);
    },
  },

  Mutation: {
    signUp: async (_parent, { username, password, displayName, deviceName }, ctx) => {
      const { services } = ctx;
      await spend(ctx, services.limiters.auth, ctx.clientAddress);
      const name = normalizeUsername(username);
      checkPassword(password);
      const display = normalizeDisplayName(displayName, name);
      const user = await services.store.users.create({
        id: services.ids.next(),
        username: name,
        displayName: display,
        passwordHash: await hashing(ctx, () => hashPassword(password, services.passwordParams)),
        createdAt: services.now(),
      });
      if (!user) throw conflict(`The username "${name}" is taken.`);
      return authPayload(await services.sessions.start(user.id, deviceNameFor(ctx, deviceName)), user);
    },

    logIn: async (_parent, { username, password, deviceName }, ctx) => {
      const { services } = ctx;
      await spend(ctx, services.limiters.auth, ctx.clientAddress);
      const refused = unauthenticated('Wrong username or password.');
      const name = username.trim().toLowerCase();
      // Guesses at one account from many addresses: each try takes one of the account's allowances wherever
      // it comes from, before any hashing, and a success gives it back, so that only failures count.
      const account = limits.usernamePattern.test(name) ? name : '(not a username)';
      await spend(ctx, services.limiters.loginFailures, account);
      let user: UserRecord | null;
      try {
        user = await checkCredentials(ctx, name, password);
      } catch (error) {
        // Not a failed guess (an outage, a full hashing queue): the allowance goes back.
        await services.limiters.loginFailures.refund(account);
        throw error;
      }
      // A deleted account is gone, whatever the password.
      if (!user || user.deletedAt) throw refused;
      await services.limiters.loginFailures.refund(account);
      const [suspension] = await services.store.moderation.getSuspensions([user.id]);
      if (suspension) throw accountSuspended();
      return authPayload(await services.sessions.start(user.id, deviceNameFor(ctx, deviceName)), user);
    },

    refreshToken: async (_parent, _args, ctx) => {
      const viewer = await requireViewer(ctx);
      const { sessionId } = checkAuth(ctx.auth, ctx.services.now());
      return authPayload(await ctx.services.sessions.reissue(viewer.id, sessionId, deviceNameFor(ctx, null)), viewer);
    },

    logOut: async (_parent, _args, ctx) => {
      await requireViewer(ctx);
      const claims = checkAuth(ctx.auth, ctx.services.now());
      const { revocations, pubsub, log, sessions } = ctx.services;
      if (claims.sessionId) {
        await sessions.end(claims.userId, claims.sessionId, 'logOut');
        return true;
      }
      // A token from before sessions: revoked alone.
      await revocations.revoke(claims.tokenId, claims.expiresAt);
      // Revoked either way; should the word not reach a process, its connections go at their next catch-up check.
      await pubsub
        .publish('tokenRevoked', 'all', { tokenId: claims.tokenId, userId: claims.userId })
        .catch((error: unknown) => log.warn('publish of a logOut failed', error));
      return true;
    },

    addFriend: async (_parent, { userId }, ctx) => {
      const viewer = await requireViewer(ctx);
      if (userId === viewer.id) throw badInput('userId', 'you cannot add yourself as a friend');
      const [friend] = await requireUsers(ctx, [userId]);
      const { viewerBlocked, blockedByOther } = await blocksBetween(ctx, viewer.id, userId);
      if (viewerBlocked) throw forbidden('You have blocked this user: unblock them to add them as a friend.');
      // Blocked by them: answered as if added, stored nowhere, so the block is not revealed and no friendship forms.
      if (blockedByOther) return friend!;
      await ctx.services.store.friends.add(viewer.id, userId);
      await publishFriendsChanged(ctx.services.pubsub, viewer.id, userId);
      return friend!;
    },

    updateProfile: async (_parent, { displayName }, ctx) => {
      const viewer = await requireViewer(ctx);
      const updated = await ctx.services.store.users.setDisplayName(
        viewer.id,
        normalizeDisplayName(displayName, viewer.username),
      );
      if (!updated) throw unknownAccount();
      ctx.loaders.users.clear(viewer.id).prime(viewer.id, updated);
      return updated;
    },

    removeFriend: async (_parent, { userId }, ctx) => {
      const viewer = await requireViewer(ctx);
      if (userId === viewer.id) throw badInput('userId', 'you cannot remove yourself as a friend');
      const user = await ctx.loaders.users.load(userId);
      if (!user) throw notFound('user', userId);
      await ctx.services.store.friends.remove(viewer.id, userId);
      await publishFriendsChanged(ctx.services.pubsub, viewer.id, userId);
      return true;
    },
  },

  User: {
    deleted: (user) => user.deletedAt !== null,
    presence: (user, _args, ctx) => visiblePresence(ctx, optionalViewerId(ctx), user.id),
  },
};
