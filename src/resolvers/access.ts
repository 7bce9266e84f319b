import { checkAuth, unknownAccount, validClaims } from '../auth/session';
import { forbidden, notAMember, notFound, rateLimited } from '../contract/errors';
import { BusyError } from '../lib/concurrency';
import type { RateLimiter } from '../lib/rateLimit';
import type { ConversationRecord, UserRecord } from '../store/store';
import type { Context } from './context';

/** The signed-in user; UNAUTHENTICATED without a valid token for an existing (not deleted) user. */
export async function requireViewer(ctx: Context): Promise<UserRecord> {
  const { userId } = checkAuth(ctx.auth, ctx.services.now());
  const user = await ctx.loaders.users.load(userId);
  // A deleted account's sessions are ended; this covers the moment before they are.
  if (!user || user.deletedAt) throw unknownAccount();
  return user;
}

/**
 * The id of the signed-in user, for field resolvers below a root field that
 * already called `requireViewer`.
 */
export function viewerId(ctx: Context): string {
  return checkAuth(ctx.auth, ctx.services.now()).userId;
}

/** The signed-in user's id, or null without a valid token (for fields that are merely hidden then). */
export function optionalViewerId(ctx: Context): string | null {
  return validClaims(ctx.auth, ctx.services.now())?.userId ?? null;
}

/**
 * The conversation if the viewer belongs to it, else FORBIDDEN: the same
 * error, word for word, whether the conversation exists or not, so that no
 * operation tells a stranger which ids are real. Resolvers check this before
 * anything else about a conversation (its kind, the other arguments).
 */
export async function requireMembership(
  ctx: Context,
  conversationId: string,
): Promise<{ viewer: UserRecord; conversation: ConversationRecord }> {
  const viewer = await requireViewer(ctx);
  const conversation = await ctx.loaders.conversations.load(conversationId);
  if (!conversation?.memberIds.includes(viewer.id)) throw notAMember();
  return { viewer, conversation };
}

/** Users by id, NOT_FOUND naming the first id that has none. */
export async function requireUsers(ctx: Context, ids: readonly string[]): Promise<UserRecord[]> {
  const users = await ctx.loaders.users.loadMany(ids);
  return users.map((user, i) => {
    if (user instanceof Error) throw user;
    if (!user) throw notFound('user', ids[i]!);
    return user;
  });
}

/** Whether the viewer has blocked `otherId`, and whether `otherId` has blocked the viewer. */
export async function blocksBetween(ctx: Context, viewerId: string, otherId: string) {
  const [viewerBlocked, blockedByOther] = await Promise.all([
    ctx.loaders.blocked.load({ blockerId: viewerId, blockedId: otherId }),
    ctx.loaders.blocked.load({ blockerId: otherId, blockedId: viewerId }),
  ]);
  return { viewerBlocked, blockedByOther };
}

/** Whether a block stands between the two users, in either direction. */
export async function isBlockedEitherWay(ctx: Context, viewerId: string, otherId: string): Promise<boolean> {
  const { viewerBlocked, blockedByOther } = await blocksBetween(ctx, viewerId, otherId);
  return viewerBlocked || blockedByOther;
}

/**
 * FORBIDDEN when a block stands between the viewer and `otherId`, in either
 * direction: the viewer is told that they blocked the user; a blocked viewer
 * is told no more than that they cannot do this.
 */
export async function requireNoBlock(ctx: Context, viewerId: string, otherId: string, action: string): Promise<void> {
  const { viewerBlocked, blockedByOther } = await blocksBetween(ctx, viewerId, otherId);
  if (viewerBlocked) throw forbidden(`You have blocked this user: unblock them to ${action}.`);
  if (blockedByOther) throw forbidden(`You cannot ${action}.`);
}

/** FORBIDDEN, naming nobody, when any of `userIds` has blocked the viewer (adding them to a group). */
export async function requireNotBlockedBy(ctx: Context, viewerId: string, userIds: readonly string[]): Promise<void> {
  const others = userIds.filter((id) => id !== viewerId);
  const blocked = await ctx.loaders.blocked.loadMany(others.map((blockerId) => ({ blockerId, blockedId: viewerId })));
  for (const b of blocked) if (b instanceof Error) throw b;
  if (blocked.some((b) => b === true)) throw forbidden('You cannot add one or more of these users to a group.');
}

/** RATE_LIMITED when `key` has used up its allowance. */
export async function spend(ctx: Context, limiter: RateLimiter, key: string): Promise<void> {
  const wait = await limiter.take(key);
  if (wait > 0) {
    ctx.services.metrics.rateLimited.inc({ limit: limiter.name });
    throw rateLimited(wait);
  }
}

/** Runs password hashing within the process's bound; RATE_LIMITED when too much is waiting already. */
export async function hashing<T>(ctx: Context, task: () => Promise<T>): Promise<T> {
  try {
    return await ctx.services.passwordHashing.run(task);
  } catch (error) {
    if (error instanceof BusyError) throw rateLimited(1);
    throw error;
  }
}

/** Publishes what a stored change means to subscribers; a failure is logged, never the operation's (see the streams' catch-up). */
export async function announce(
  ctx: { services: Pick<Context['services'], 'log'> },
  what: string,
  publish: () => Promise<void>,
): Promise<void> {
  await publish().catch((error: unknown) => ctx.services.log.warn(`publish of ${what} failed`, error));
}
