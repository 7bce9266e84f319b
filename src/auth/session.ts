/**
 * Who is asking: the one place a request's or a connection's Authorization
 * value becomes an `Auth`, and an `Auth` becomes a signed-in user or an
 * UNAUTHENTICATED error. HTTP (server/http/), graphql-ws (server/ws/) and
 * the resolvers (resolvers/access.ts) all go through here.
 */
import { unauthenticated } from '../contract/errors';
import { UnavailableError } from '../lib/unavailable';
import type { Store, UserRecord } from '../store/store';
import type { Revocations } from './revocations/revocations';
import { bearerToken, revocationKey, type TokenClaims, type TokenFailure, type TokenService } from './tokens';

/** Who is asking: the claims of a valid token, or why there are none. */
export type Auth = TokenClaims | { failure: 'missing' | 'notBearer' | TokenFailure };

const failureMessages: Record<'missing' | 'notBearer' | TokenFailure, string> = {
  missing: 'Authentication required: send "Authorization: Bearer <token>".',
  notBearer: 'The Authorization value must be "Bearer <token>": the word Bearer, a space, then the token.',
  invalid: 'Invalid token.',
  expired: 'Token expired: renew it with renewSession(refreshToken), or log in again.',
  revoked: 'Session ended (logged out or revoked): log in again.',
};

/** The Auth of an `Authorization: Bearer <token>` value (HTTP header or connectionParams). */
export function authenticate(tokens: TokenService, authorization: unknown): Auth {
  const token = bearerToken(authorization);
  if (token === null) return { failure: 'missing' };
  if (token === 'invalid' || token === 'notBearer') return { failure: token };
  const claims = tokens.verify(token);
  return typeof claims === 'string' ? { failure: claims } : claims;
}

/** Like `authenticate`, and a token of an ended session (or one revoked alone, from before sessions) is refused too. */
export async function authenticateRequest(
  tokens: TokenService,
  revocations: Revocations,
  authorization: unknown,
): Promise<Auth> {
  const auth = authenticate(tokens, authorization);
  if ('failure' in auth) return auth;
  return (await revocations.isRevoked(revocationKey(auth))) ? { failure: 'revoked' } : auth;
}

/** The claims of a token still valid at `now`, or null. */
export function validClaims(auth: Auth, now: Date): TokenClaims | null {
  return 'failure' in auth || auth.expiresAt <= now ? null : auth;
}

/** The token's claims, or UNAUTHENTICATED for a missing, invalid or expired token. */
export function checkAuth(auth: Auth, now: Date): TokenClaims {
  if ('failure' in auth) throw unauthenticated(failureMessages[auth.failure]);
  if (auth.expiresAt <= now) throw unauthenticated(failureMessages.expired);
  return auth;
}

/** For a token that names an account that no longer exists. */
export const unknownAccount = () => unauthenticated('The token names an account that does not exist: log in again.');

/**
 * A WebSocket connection's claims if its token is valid and names an existing
 * user; otherwise why not, in words for the close reason, and whether only
 * the token's expiry stands in the way (a renewed token would do).
 */
export async function authenticateConnection(
  tokens: TokenService,
  revocations: Revocations,
  store: Store,
  authorization: unknown,
): Promise<{ claims: TokenClaims } | { failure: string; expired: boolean }> {
  const auth = await authenticateRequest(tokens, revocations, authorization);
  if ('failure' in auth) {
    const failure =
      auth.failure === 'notBearer'
        ? 'authorization must be "Bearer <token>"'
        : auth.failure === 'revoked'
          ? 'session ended'
          : `${auth.failure} token`;
    return { failure, expired: auth.failure === 'expired' };
  }
  let user: UserRecord | null;
  try {
    [user = null] = await store.users.getMany([auth.userId]);
  } catch (error) {
    // The store is out: the signed token is proof enough to connect, and each subscription
    // checks the account itself, so that it is refused with UNAVAILABLE rather than the socket closed.
    if (error instanceof UnavailableError) return { claims: auth };
    throw error;
  }
  return user ? { claims: auth } : { failure: 'unknown user token', expired: false };
}
