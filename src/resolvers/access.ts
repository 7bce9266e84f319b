import type { Context } from '../context';
import { checkAuth, requireViewer } from '../context';
import { badInput, forbidden, notFound, rateLimited } from '../errors';
import { limits } from '../limits';
import type { RateLimiter } from '../rateLimit';
import type { ConversationRecord, UserRecord } from '../store/store';

/**
 * The id of the signed-in user, for field resolvers below a root field that
 * already called `requireViewer`.
 */
export function viewerId(ctx: Context): string {
  return checkAuth(ctx.auth, ctx.services.now()).userId;
}

/** The signed-in user's id, or null without a valid token (for fields that are merely hidden then). */
export function optionalViewerId(ctx: Context): string | null {
  return 'failure' in ctx.auth || ctx.auth.expiresAt <= ctx.services.now() ? null : ctx.auth.userId;
}

/** The conversation if the viewer belongs to it: NOT_FOUND if there is none, FORBIDDEN if not a member. */
export async function requireMembership(
  ctx: Context,
  conversationId: string,
): Promise<{ viewer: UserRecord; conversation: ConversationRecord }> {
  const viewer = await requireViewer(ctx);
  const conversation = await ctx.loaders.conversations.load(conversationId);
  if (!conversation) throw notFound('conversation', conversationId);
  if (!conversation.memberIds.includes(viewer.id)) throw forbidden('You are not a member of this conversation.');
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

/** RATE_LIMITED when `key` has used up its allowance. */
export function spend(limiter: RateLimiter, key: string): void {
  const wait = limiter.take(key);
  if (wait > 0) throw rateLimited(wait);
}

/** A first/last argument: null stays null, anything else must be 0 to the page maximum. */
export function pageSize(field: string, value: number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (value < 0 || value > limits.pageMax) throw badInput(field, `must be from 0 to ${limits.pageMax}`);
  return value;
}

/** Removes repeated ids, keeping the first occurrence. */
export function distinct(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}
