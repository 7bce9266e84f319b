/** The service's bearer tokens: HS256 JWTs, and reading them from an Authorization value. */
import { createHash, createSecretKey, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';

/** What a valid token says. */
export interface TokenClaims {
  userId: string;
  /** When the token stops being accepted. */
  expiresAt: Date;
  /** This token's own id (its jti). */
  tokenId: string;
  /** The session (signed-in device) it was issued to; null for tokens issued before sessions. */
  sessionId: string | null;
}

/**
 * The key under which a token is refused: its whole session once that ends,
 * or (for a token issued before sessions) the token alone.
 */
export function revocationKey(claims: Pick<TokenClaims, 'tokenId' | 'sessionId'>): string {
  return claims.sessionId ? sessionRevocationKey(claims.sessionId) : claims.tokenId;
}

/** The revocation key of every token of a session. */
export function sessionRevocationKey(sessionId: string): string {
  return `session:${sessionId}`;
}

/** Why a token was refused. */
export type TokenFailure = 'invalid' | 'expired' | 'revoked';

/** Issues and checks the service's JWTs. */
export interface TokenService {
  /** How long a token lives from its issue. */
  readonly ttlSeconds: number;
  /** A new access token of the user's session. */
  sign(userId: string, sessionId?: string | null): { token: string; expiresAt: Date };
  verify(token: string): TokenClaims | TokenFailure;
}

/** Verified tokens remembered at once; past this the memory starts over. */
const MAX_REMEMBERED = 10_000;

/**
 * HS256 JWTs signed with `secret`, valid for `ttlSeconds`. A token that
 * verified once is remembered (by its exact text) until it expires, so a
 * client sending the same token with every request costs one HMAC, not one
 * per request. Revocation is not remembered here: callers check it each time.
 */
export function createTokenService(secret: string, ttlSeconds: number): TokenService {
  // Made once: given a string, jsonwebtoken would build a key object on every call.
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  const verified = new Map<string, TokenClaims>();
  return {
    ttlSeconds,
    sign(userId, sessionId = null) {
      const issuedAt = Math.floor(Date.now() / 1000);
      const payload = sessionId ? { sid: sessionId, iat: issuedAt } : { iat: issuedAt };
      const token = jwt.sign(payload, key, {
        algorithm: 'HS256',
        subject: userId,
        expiresIn: ttlSeconds,
        jwtid: randomUUID(),
      });
      return { token, expiresAt: new Date((issuedAt + ttlSeconds) * 1000) };
    },
    verify(token) {
      const known = verified.get(token);
      if (known) {
        if (known.expiresAt.getTime() > Date.now()) return known;
        verified.delete(token);
        return 'expired';
      }
      const claims = verifySignature(token);
      if (typeof claims !== 'string') {
        if (verified.size >= MAX_REMEMBERED) verified.clear();
        verified.set(token, claims);
      }
      return claims;
    },
  };

  /** The claims of a token whose signature and expiry check out. */
  function verifySignature(token: string): TokenClaims | TokenFailure {
    try {
      const claims = jwt.verify(token, key, { algorithms: ['HS256'] });
      if (typeof claims !== 'object' || typeof claims.sub !== 'string' || typeof claims.exp !== 'number') {
        return 'invalid';
      }
      // Tokens issued before they carried an id are known by their digest.
      const tokenId =
        typeof claims.jti === 'string' ? claims.jti : createHash('sha256').update(token).digest('base64url');
      const sessionId = typeof claims.sid === 'string' ? claims.sid : null;
      return { userId: claims.sub, expiresAt: new Date(claims.exp * 1000), tokenId, sessionId };
    } catch (error) {
      return error instanceof jwt.TokenExpiredError ? 'expired' : 'invalid';
    }
  }
}

/**
 * The token of an `Authorization: Bearer <token>` value (HTTP header or
 * graphql-ws connectionParams); `null` when there is none, `'invalid'` when
 * the value is not of that form.
 */
export function bearerToken(authorization: unknown): string | null | 'invalid' | 'notBearer' {
  if (authorization === undefined || authorization === null || authorization === '') return null;
  if (typeof authorization !== 'string') return 'invalid';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (match) return match[1]!;
  // A bare token (or another scheme): the client's mistake is the form, which the answer names.
  return /^\S+$/.test(authorization.trim()) ? 'notBearer' : 'invalid';
}
