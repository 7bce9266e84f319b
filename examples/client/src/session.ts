/**
 * A signed-in session's tokens: a short-lived access token for every request
 * and connection, and a single-use refresh token that buys the next pair with
 * renewSession. One renewal at a time: presenting a spent refresh token again
 * makes the server end the whole session, so concurrent callers share the
 * renewal in flight instead of starting their own.
 */
import type { FormattedExecutionResult } from 'graphql';
import { print } from 'graphql';
import type { RenewSessionMutation } from './gql/graphql';
import { RenewSession } from './operations';

/** What signUp, logIn and renewSession give: an access token, its expiry (ISO-8601) and the next refresh token. */
export interface TokenPair {
  token: string;
  expiresAt: string;
  refreshToken: string;
}

/** The session was ended (logged out, revoked, refresh token reused or expired): sign in again. */
export class SessionEndedError extends Error {
  constructor() {
    super('the session has ended: sign in again');
    this.name = 'SessionEndedError';
  }
}

/** Hands out access tokens, renewing them before they expire. */
export interface Session {
  /** A token good for a while yet: renews first when it expires within the margin or was refused. */
  getToken(): Promise<string>;
  /** The current token as it is, even if stale (for a caller that cannot wait for a renewal). */
  readonly token: string;
  /** The server refused `token` as expired (its clock is what counts): the next getToken renews. */
  refused(token: string): void;
  /** How many times a renewal succeeded. */
  readonly renewals: number;
}

/** How a session renews. */
export interface SessionOptions {
  /** The GraphQL endpoint over HTTP. */
  url: string;
  /** The pair signUp or logIn returned. */
  pair: TokenPair;
  /** Called once, when renewSession answers UNAUTHENTICATED; getToken rejects from then on. */
  onEnded?: () => void;
  /** Renew at most this long before expiry (a third of the token's lifetime when that is less). @default 30_000 */
  maxMarginMs?: number;
  /** The device's clock, in ms since the epoch (main.ts passes one running slow). @default Date.now */
  clock?: () => number;
}

/** A session over `options.pair`, renewed with renewSession at `options.url`. */
export function createSession(options: SessionOptions): Session {
  const { url, onEnded, maxMarginMs = 30_000, clock = Date.now } = options;
  let pair = options.pair;
  let receivedAt = clock();
  let stale = false;
  let ended = false;
  let renewals = 0;
  let renewing: Promise<string> | undefined;

  const isDue = () => {
    const expiresAt = Date.parse(pair.expiresAt);
    // A margin that fits the lifetime, so that 3-second tokens are not renewed on every call.
    const margin = Math.min(maxMarginMs, (expiresAt - receivedAt) / 3);
    return stale || clock() >= expiresAt - margin;
  };

  const renew = async (): Promise<string> => {
    const next = await renewSession(url, pair.refreshToken);
    if (next === 'ended') {
      ended = true;
      onEnded?.();
      throw new SessionEndedError();
    }
    pair = next;
    receivedAt = clock();
    stale = false;
    renewals++;
    return pair.token;
  };

  return {
    async getToken() {
      if (ended) throw new SessionEndedError();
      if (!isDue()) return pair.token;
      renewing ??= renew().finally(() => (renewing = undefined));
      return renewing;
    },
    get token() {
      return pair.token;
    },
    refused(token) {
      // A token replaced meanwhile needs nothing: the next call already gets the new one.
      if (token === pair.token) stale = true;
    },
    get renewals() {
      return renewals;
    },
  };
}

/** Whether a GraphQL error list says the caller is not (or no longer) signed in. */
export const isUnauthenticated = (errors: readonly { extensions?: Record<string, unknown> }[] | undefined): boolean =>
  errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED') ?? false;

/**
 * The pair renewSession returns, or 'ended' when the server refuses the
 * refresh token. Plain fetch rather than Apollo: the renewal must not go
 * through the link that itself waits for a renewal.
 */
async function renewSession(url: string, refreshToken: string): Promise<TokenPair | 'ended'> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: print(RenewSession), variables: { refreshToken } }),
  });
  const body = (await response.json()) as FormattedExecutionResult<RenewSessionMutation>;
  if (body.data) return body.data.renewSession;
  if (isUnauthenticated(body.errors)) return 'ended';
  throw new Error(`renewSession failed (HTTP ${response.status}): ${body.errors?.[0]?.message ?? 'no data'}`);
}
