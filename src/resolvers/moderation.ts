import { badInput, forbidden } from '../contract/errors';
import type { Resolvers } from '../generated/graphql';
import type { MessageRecord, ReportPosition, ReportReason, ReportRecord, UserRecord } from '../store/store';
import { requireUsers, requireViewer, spend } from './access';
import { connection } from './connection';
import type { Context } from './context';
import { requireMessage } from './messages';
import { moderationText, pageSize } from './validate';

/** The signed-in user if they are an operator (OPERATORS), else FORBIDDEN. */
async function requireOperator(ctx: Context): Promise<UserRecord> {
  const viewer = await requireViewer(ctx);
  if (!ctx.services.config.operators.includes(viewer.username)) throw forbidden('Only operators may do this.');
  return viewer;
}

/** The opaque cursor of a report's place in the list. */
const encodeReportCursor = (r: ReportPosition) => Buffer.from(`${r.createdAt.getTime()}:${r.id}`).toString('base64url');

function decodeReportCursor(cursor: string): ReportPosition | null {
  const match = /^(\d{1,15}):(\d{1,20})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match ? { createdAt: new Date(Number(match[1])), id: match[2]! } : null;
}

/** Files a report by the viewer, within their allowance. */
async function fileReport(
  ctx: Context,
  reporter: UserRecord,
  input: {
    reason: ReportReason;
    note: string | null | undefined;
    reportedUserId: string;
    message: MessageRecord | null;
  },
): Promise<true> {
  const note = moderationText('note', input.note);
  const { store, ids, now, limiters, log, metrics } = ctx.services;
  await spend(ctx, limiters.reports, reporter.id);
  const report: ReportRecord = {
    id: ids.next(),
    reporterId: reporter.id,
    reason: input.reason,
    note,
    reportedUserId: input.reportedUserId,
    message: input.message,
    createdAt: now(),
  };
  await store.moderation.addReport(report);
  const kind = report.message ? 'message' : 'user';
  metrics.reports.inc({ kind });
  log.info('report filed', {
    reportId: report.id,
    kind,
    reason: report.reason,
    reporterId: reporter.id,
    reportedUserId: report.reportedUserId,
    messageId: report.message?.id,
  });
  return true;
}

/** The user a report names; they exist as long as their account (deleted ones stay). */
async function reportUser(ctx: Context, id: string): Promise<UserRecord> {
  const user = await ctx.loaders.users.load(id);
  if (!user) throw new Error(`report names unknown user ${id}`);
  return user;
}

/** Reports by users, and what operators do with them. */
export const moderationResolvers: Resolvers = {
  Query: {
    reports: async (_parent, { first, after }, ctx) => {
      await requireOperator(ctx);
      const size = pageSize('first', first) ?? 20;
      const position = after ? decodeReportCursor(after) : undefined;
      if (position === null) throw badInput('after', 'not a cursor of this list');
      const rows = await ctx.services.store.moderation.listReports({ first: size + 1, after: position });
      return connection(rows.slice(0, size), encodeReportCursor, {
        hasPreviousPage: position !== undefined,
        hasNextPage: rows.length > size,
      });
    },
  },

  Mutation: {
    reportMessage: async (_parent, { messageId, reason, note }, ctx) => {
      const { viewer, message } = await requireMessage(ctx, messageId);
      if (message.senderId === viewer.id) throw badInput('messageId', 'you cannot report your own message');
      // The message as it is now: what the reporter saw, whatever its sender does with it later.
      return fileReport(ctx, viewer, { reason, note, reportedUserId: message.senderId, message });
    },

    reportUser: async (_parent, { userId, reason, note }, ctx) => {
      const viewer = await requireViewer(ctx);
      const [user] = await requireUsers(ctx, [userId]);
      if (user!.id === viewer.id) throw badInput('userId', 'you cannot report yourself');
      return fileReport(ctx, viewer, { reason, note, reportedUserId: user!.id, message: null });
    },

    suspendUser: async (_parent, { userId, reason }, ctx) => {
      const operator = await requireOperator(ctx);
      const [user] = await requireUsers(ctx, [userId]);
      if (user!.id === operator.id) throw badInput('userId', 'you cannot suspend yourself');
      const why = moderationText('reason', reason);
      if (why === null) throw badInput('reason', 'must not be empty');
      const { store, sessions, now, log, metrics } = ctx.services;
      const { created } = await store.moderation.suspend({ userId: user!.id, by: operator.id, reason: why, at: now() });
      // Even when suspended already: an earlier call may have stored the suspension and stopped before this.
      await sessions.endAll(user!.id, 'suspended');
      if (created) {
        metrics.suspensions.inc();
        log.warn('account suspended', {
          userId: user!.id,
          username: user!.username,
          by: operator.username,
          reason: why,
        });
      }
      return true;
    },
  },

  Report: {
    reporter: (r, _args, ctx) => reportUser(ctx, r.reporterId),
    reportedUser: (r, _args, ctx) => reportUser(ctx, r.reportedUserId),
    message: (r) => r.message,
  },
};
