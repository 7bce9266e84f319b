import { hashPassword, verifyPassword } from '../auth';
import { requireViewer, type Context } from '../context';
import { badInput, conflict, notFound, unauthenticated } from '../errors';
import type { Resolvers } from '../generated/graphql';
import { codePointLength, limits } from '../limits';
import type { UserRecord } from '../store/store';
import { optionalViewerId, requireUsers, spend } from './access';
import { publishFriendsChanged } from '../presenceStream';
import { visiblePresence } from './presence';

/** A username as stored: lowercase; BAD_USER_INPUT unless 3 to 32 of a-z, 0-9, _. */
function normalizeUsername(username: string): string {
  const name = username.trim().toLowerCase();
  if (!limits.usernamePattern.test(name)) {
    throw badInput('username', 'must be 3 to 32 characters of a-z, 0-9 and _');
  }
  return name;
}

function checkPassword(password: string): void {
  const length = codePointLength(password);
  if (length < limits.passwordMin) throw badInput('password', `must be at least ${limits.passwordMin} characters`);
  if (length > limits.passwordMax) throw badInput('password', `must be at most ${limits.passwordMax} characters`);
}

function normalizeDisplayName(displayName: string | null | undefined, username: string): string {
  if (displayName === null || displayName === undefined) return username;
  // Control characters would let one name forge line breaks or direction changes in clients.
  const name = displayName.replace(/\s+/g, ' ').trim();
  if (name.length === 0 || /\p{Cc}/u.test(name) || codePointLength(name) > limits.displayNameMax) {
    throw badInput('displayName', `must be 1 to ${limits.displayNameMax} printable characters`);
  }
  return name;
}

function authPayload(ctx: Context, user: UserRecord) {
  return { token: ctx.services.tokens.sign(user.id), user };
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
      const limit = first ?? 20;
      if (limit < 0 || limit > limits.pageMax) throw badInput('first', `must be from 0 to ${limits.pageMax}`);
      const wanted = prefix.trim().toLowerCase();
      if (wanted.length === 0 || wanted.length > 32) throw badInput('prefix', 'must be 1 to 32 characters');
      if (limit === 0 || !/^[a-z0-9_]+$/.test(wanted)) return [];
      return ctx.services.store.users.searchByPrefix(wanted, limit);
    },

    friends: async (_parent, _args, ctx) => {
      const viewer = await requireViewer(ctx);
      // Through the loader: the presence of each friend checks the same list.
      const ids = [...(await ctx.loaders.friendIds.load(viewer.id))];
      const users = await ctx.loaders.users.loadMany(ids);
      return users.filter((u): u is UserRecord => u !== null && !(u instanceof Error));
    },
  },

  Mutation: {
    signUp: async (_parent, { username, password, displayName }, ctx) => {
      const { services } = ctx;
      spend(services.limiters.auth, ctx.clientAddress);
      const name = normalizeUsername(username);
      checkPassword(password);
      const display = normalizeDisplayName(displayName, name);
      const user = await services.store.users.create({
        id: services.ids.next(),
        username: name,
        displayName: display,
        passwordHash: await hashPassword(password, services.passwordParams),
        createdAt: services.now(),
      });
      if (!user) throw conflict(`The username "${name}" is taken.`);
      return authPayload(ctx, user);
    },

    logIn: async (_parent, { username, password }, ctx) => {
      const { services } = ctx;
      spend(services.limiters.auth, ctx.clientAddress);
      const refused = unauthenticated('Wrong username or password.');
      const name = username.trim().toLowerCase();
      const found = limits.usernamePattern.test(name) ? await services.store.users.findCredentials(name) : null;
      if (!found || password.length > limits.passwordMax * 4) {
        // Hash anyway, so that an unknown username takes as long as a wrong password.
        await hashPassword('not the password', services.passwordParams);
        throw refused;
      }
      if (!(await verifyPassword(password, found.passwordHash))) throw refused;
      return authPayload(ctx, found.user);
    },

    addFriend: async (_parent, { userId }, ctx) => {
      const viewer = await requireViewer(ctx);
      if (userId === viewer.id) throw badInput('userId', 'you cannot add yourself as a friend');
      const [friend] = await requireUsers(ctx, [userId]);
      await ctx.services.store.friends.add(viewer.id, userId);
      await publishFriendsChanged(ctx.services.pubsub, viewer.id, userId);
      return friend!;
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
    presence: (user, _args, ctx) => visiblePresence(ctx, optionalViewerId(ctx), user.id),
  },
};
