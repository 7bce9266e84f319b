import { verifyPassword } from '../auth/passwords';
import { checkAuth, unknownAccount } from '../auth/session';
import { unauthenticated } from '../contract/errors';
import { limits } from '../contract/limits';
import type { Resolvers } from '../generated/graphql';
import { hashing, spend } from './access';
import { runAccountDeletion } from './accountDeletion';

/** The viewer's own account: its deletion. */
export const accountResolvers: Resolvers = {
  Mutation: {
    deleteAccount: async (_parent, { password }, ctx) => {
      const { services } = ctx;
      const { userId } = checkAuth(ctx.auth, services.now());
      // Not requireViewer: a deletion that stopped half-way (its session still live) is finished by a retry.
      const user = await ctx.loaders.users.load(userId);
      if (!user) throw unknownAccount();
      // A stolen token must not become a way to guess the password: the same allowance as logIn's.
      await spend(ctx, services.limiters.loginFailures, user.username);
      const credentials = await services.store.users.findCredentials(user.username);
      const matches =
        credentials !== null &&
        password.length <= limits.passwordMax * 4 &&
        (await hashing(ctx, () => verifyPassword(password, credentials.passwordHash)));
      if (!matches) throw unauthenticated('Wrong password.');
      await services.limiters.loginFailures.refund(user.username);
      const deletion = await services.store.deletions.start(user.id, services.now());
      if (deletion.finishedAt) return true;
      services.log.info('account deletion started', { userId: user.id });
      await runAccountDeletion(services, user.id);
      return true;
    },
  },
};
