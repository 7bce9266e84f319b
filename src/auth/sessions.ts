/**
 * Sessions: one per signed-in device. A session holds a long-lived, single-use
 * refresh token (the store keeps only its hash) and hands out short-lived
 * access tokens (JWTs naming the session). Renewing spends the refresh token
 * and gives a new pair; a spent one presented again means it was copied, and
 * ends the session (OAuth 2.0 Security BCP, refresh token rotation). An ended
 * session's access tokens are refused on every process (the revocation list
 * under `session:<id>`) and its WebSocket connections closed (`tokenRevoked`).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { accountSuspended, notFound, unauthenticated } from '../contract/errors';
import type { Logger } from '../lib/log';
import type { PubSub } from '../pubsub/pubsub';
import type { SessionEndReason, SessionRecord, Store } from '../store/store';
import type { Revocations } from './revocations/revocations';
import { sessionRevocationKey, type TokenService } from './tokens';

/** What signUp, logIn, renewSession and refreshToken hand out. */
export interface Grant {
  /** The access token. */
  token: string;
  /** When `token` expires. */
  expiresAt: Date;
  refreshToken: string;
  session: SessionRecord;
}

/** A session as the API shows it: to whom it is the request's own. */
export type SessionView = SessionRecord & { current: boolean };

/** The session operations of the API. */
export interface Sessions {
  /** Starts a session for a user who just proved who they are. */
  start(userId: string, deviceName: string | null): Promise<Grant>;
  /** Spends `refreshToken` for a new pair; UNAUTHENTICATED if it is unknown, expired or spent (which ends its session). */
  renew(refreshToken: string): Promise<Grant>;
  /**
   * A new pair for the session of a valid access token (the refreshToken
   * mutation): its current refresh token is spent. A token from before
   * sessions gets a session of its own.
   */
  reissue(userId: string, sessionId: string | null, deviceName: string | null): Promise<Grant>;
  /** Ends one of the user's sessions (idempotent); NOT_FOUND for a session that is not theirs. */
  end(userId: string, sessionId: string, because: SessionEndReason): Promise<void>;
  /** Ends every session of the user. */
  endAll(userId: string, because: SessionEndReason): Promise<void>;
  /** The user's sessions that have not ended, most recently used first. */
  list(userId: string): Promise<SessionRecord[]>;
}

/** What a session's device is called, at most this long. */
export const DEVICE_NAME_MAX = 200;

/** The hash under which a refresh token is stored. */
export function refreshTokenHash(refreshToken: string): string {
  return createHash('sha256').update(refreshToken).digest('base64url');
}

/** A device name fit to store: printable, trimmed, bounded; null for none. */
export function deviceNameOf(raw: string | null | undefined): string | null {
  if (raw == null) return null;
  // eslint-disable-next-line no-control-regex
  const printable = [...raw.normalize('NFC').replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')]
    .slice(0, DEVICE_NAME_MAX)
    .join('')
    .trim();
  return printable === '' ? null : printable;
}

export interface SessionsOptions {
  store: Store;
  tokens: TokenService;
  revocations: Revocations;
  pubsub: PubSub;
  log: Logger;
  refreshTtlSeconds: number;
  /** Live sessions per user; a new one past it ends the least recently used. @default 100 */
  maxSessions?: number;
  now: () => Date;
}

export function createSessions({
  store,
  tokens,
  revocations,
  pubsub,
  log,
  refreshTtlSeconds,
  maxSessions = 100,
  now,
}: SessionsOptions): Sessions {
  const newRefreshToken = () => randomBytes(32).toString('base64url');
  const refreshExpiry = (at: Date) => new Date(at.getTime() + refreshTtlSeconds * 1000);
  const grant = (session: SessionRecord, refreshToken: string): Grant => ({
    ...tokens.sign(session.userId, session.id),
    refreshToken,
    session,
  });

  /**
   * Refuses the ended session's access tokens on every process and closes its
   * connections. Done for every end the store reports, even a repeated one,
   * for an earlier attempt may have ended it in the store and then failed.
   * Its device's KeyPackages go with it: no one can add an ended session to an encrypted group.
   */
  async function refuseTokensOf(sessionId: string, userId: string): Promise<void> {
    await store.mls.deleteForSessions([sessionId]);
    const key = sessionRevocationKey(sessionId);
    // Any access token of the session expires within a token lifetime of now (clocks a little apart included).
    await revocations.revoke(key, new Date(Date.now() + (tokens.ttlSeconds + 60) * 1000));
    await pubsub
      .publish('tokenRevoked', 'all', { tokenId: key, userId })
      .catch((error: unknown) => log.warn('publish of an ended session failed', error));
  }

  async function start(userId: string, deviceName: string | null): Promise<Grant> {
    const refreshToken = newRefreshToken();
    const at = now();
    const session = await store.sessions.create({
      id: randomUUID(),
      userId,
      createdAt: at,
      deviceName,
      refreshTokenHash: refreshTokenHash(refreshToken),
      refreshExpiresAt: refreshExpiry(at),
    });
    await endOldest(userId);
    return grant(session, refreshToken);
  }

  /**
   * Keeps a user to `maxSessions` live sessions, ending the least recently
   * used past it: signing in again and again (a script, a client that never
   * keeps its refresh token) cannot grow the list, nor what `sessions` reads.
   */
  async function endOldest(userId: string): Promise<void> {
    const live = await store.sessions.listForUser(userId);
    for (const old of live.slice(maxSessions)) {
      await store.sessions.end(old.id, now(), 'revoked');
      await refuseTokensOf(old.id, userId);
    }
  }

  async function rotate(refreshToken: string): Promise<Grant> {
    const next = newRefreshToken();
    const at = now();
    const result = await store.sessions.rotate({
      refreshTokenHash: refreshTokenHash(refreshToken),
      newRefreshTokenHash: refreshTokenHash(next),
      now: at,
      refreshExpiresAt: refreshExpiry(at),
    });
    switch (result.outcome) {
      case 'rotated': {
        // A suspension stored while this rotation ran ends the session it is ending anyway.
        const [suspension] = await store.moderation.getSuspensions([result.session.userId]);
        if (suspension) {
          await store.sessions.end(result.session.id, now(), 'suspended');
          await refuseTokensOf(result.session.id, result.session.userId);
          throw accountSuspended();
        }
        return grant(result.session, next);
      }
      case 'reused':
        log.warn('a spent refresh token was presented again: its session is ended', {
          sessionId: result.session.id,
          userId: result.session.userId,
        });
        await refuseTokensOf(result.session.id, result.session.userId);
        throw unauthenticated('Refresh token already used: the session has ended for safety. Log in again.');
      case 'ended':
        if (result.session.endedBecause === 'suspended') throw accountSuspended();
        throw unauthenticated('The session has ended: log in again.');
      case 'expired':
        throw unauthenticated('Refresh token expired: log in again.');
      case 'unknown':
        throw unauthenticated('Unknown refresh token: log in again.');
    }
  }

  return {
    start,
    renew: rotate,

    async reissue(userId, sessionId, deviceName) {
      if (!sessionId) return start(userId, deviceName);
      const refreshToken = newRefreshToken();
      const at = now();
      const session = await store.sessions.reissue({
        sessionId,
        newRefreshTokenHash: refreshTokenHash(refreshToken),
        now: at,
        refreshExpiresAt: refreshExpiry(at),
      });
      if (!session || session.userId !== userId) throw unauthenticated('The session has ended: log in again.');
      return grant(session, refreshToken);
    },

    async end(userId, sessionId, because) {
      const session = await store.sessions.get(sessionId);
      if (!session || session.userId !== userId) throw notFound('session', sessionId);
      await store.sessions.end(sessionId, now(), because);
      await refuseTokensOf(sessionId, userId);
    },

    async endAll(userId, because) {
      const ended = await store.sessions.endAllForUser(userId, now(), because);
      await Promise.all(ended.map((id) => refuseTokensOf(id, userId)));
    },

    list: (userId) => store.sessions.listForUser(userId),
  };
}
