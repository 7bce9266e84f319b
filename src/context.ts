import type { TokenClaims, TokenFailure, TokenService } from './auth';
import type { ScryptParams } from './auth';
import type { Config } from './config';
import type { Discovery } from './discovery';
import { unauthenticated } from './errors';
import type { IdGenerator } from './ids';
import { createLoaders, type Loaders } from './loaders';
import type { Logger } from './log';
import type { PresenceTracker } from './presence';
import type { PushNotifier } from './push';
import type { PubSub } from './pubsub/pubsub';
import type { RateLimiter } from './rateLimit';
import type { Store, UserRecord } from './store/store';

/** What every operation may use; built once by the composition root. */
export interface Services {
  config: Config;
  store: Store;
  pubsub: PubSub;
  ids: IdGenerator;
  tokens: TokenService;
  presence: PresenceTracker;
  discovery: Discovery;
  push: PushNotifier;
  log: Logger;
  passwordParams: ScryptParams;
  limiters: { messages: RateLimiter; auth: RateLimiter };
  now: () => Date;
}

/** Who is asking: the claims of a valid token, or why there are none. */
export type Auth = TokenClaims | { failure: 'missing' | TokenFailure };

/** The per-operation context handed to every resolver. */
export interface Context {
  services: Services;
  auth: Auth;
  loaders: Loaders;
  /** The client's address, for per-client limits. */
  clientAddress: string;
}

/** A context for one operation, with its own DataLoaders. */
export function createContext(
  services: Services,
  auth: Auth,
  clientAddress: string,
  { cacheLoaders = true }: { cacheLoaders?: boolean } = {},
): Context {
  return { services, auth, clientAddress, loaders: createLoaders(services.store, services.presence, { cache: cacheLoaders }) };
}

const failureMessages: Record<'missing' | TokenFailure, string> = {
  missing: 'Authentication required: send "Authorization: Bearer <token>".',
  invalid: 'Invalid token.',
  expired: 'Token expired: log in again.',
};

/** The token's claims, or UNAUTHENTICATED for a missing, invalid or expired token. */
export function checkAuth(auth: Auth, now: Date): TokenClaims {
  if ('failure' in auth) throw unauthenticated(failureMessages[auth.failure]);
  if (auth.expiresAt <= now) throw unauthenticated(failureMessages.expired);
  return auth;
}

/** The signed-in user; UNAUTHENTICATED without a valid token for an existing user. */
export async function requireViewer(ctx: Context): Promise<UserRecord> {
  const { userId } = checkAuth(ctx.auth, ctx.services.now());
  const user = await ctx.loaders.users.load(userId);
  if (!user) throw unauthenticated('The token names an account that does not exist: log in again.');
  return user;
}
