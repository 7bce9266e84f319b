import { verifyPassword } from '../auth/passwords';
import { checkAuth, unknownAccount } from '../auth/session';
import { rateLimited, unauthenticated } from '../contract/errors';
import { limits } from '../contract/limits';
import { exportFileName, exportKeyOf, writeDataExport } from '../dataExport/export';
import type { Resolvers } from '../generated/graphql';
import { BusyError } from '../lib/concurrency';
import { hashing, requireViewer, spend } from './access';
import { runAccountDeletion } from './accountDeletion';

/** The viewer's own account: its deletion, the export of its data. */
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

    exportMyData: async (_parent, _args, ctx) => {
      const viewer = await requireViewer(ctx);
      const { store, media, now, limiters, dataExports, log } = ctx.services;
      await spend(ctx, limiters.exports, viewer.id);
      const startedAt = now();
      let byteSize;
      try {
        byteSize = await dataExports.run(() => writeDataExport({ store, media, now }, viewer));
      } catch (error) {
        if (error instanceof BusyError) throw rateLimited(1);
        throw error;
      }
      log.info('data export written', { userId: viewer.id, byteSize, ms: now().getTime() - startedAt.getTime() });
      const url = await media.presignDownload(exportKeyOf(viewer.id), {
        expiresInSeconds: limits.exportUrlSeconds,
        fileName: exportFileName(viewer, startedAt),
        contentType: 'application/json',
      });
      // The URL's expiry is signed in whole seconds.
      const expiresAt = new Date((Math.floor(now().getTime() / 1000) + limits.exportUrlSeconds) * 1000);
      return { url, expiresAt };
    },
  },
};
