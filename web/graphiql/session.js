/* global window, navigator */
// The page's sign-in: the access token that HTTP requests and the WebSocket carry, and, when the page signed
// in itself (a password, or a pasted refresh token), the refresh token that renews it shortly before it
// expires. A refresh token is single use and one spent twice ends its session, so renewals are single-flight:
// one at a time in this tab, and, through a Web Lock and the shared localStorage, one at a time across the
// tabs of this page, each tab adopting the pair another one obtained.
import { logIn, logOut, renewSession } from './api.js';

const STORAGE_KEY = 'chat-api:session';
/** Where the page kept a pasted token before it could sign in itself. */
const OLD_TOKEN_KEY = 'chat-api:token';
const LOCK_NAME = 'chat-api:renew-session';
/** Renew this long before expiry, or a third of the token's lifetime before it when that is shorter. */
const RENEW_AHEAD_MS = 60_000;
/** After a renewal that failed for another reason than the refresh token itself (network, rate limit). */
const RETRY_MS = 5_000;
/** setTimeout's largest delay. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** Nobody signed in. */
const SIGNED_OUT = { token: '', refreshToken: null, renewAt: null, signInId: 'none' };

/** The claims of a JWT, read without checking its signature (the server does that), or null for anything else. */
export function readClaims(token) {
  const [, payload] = token.split('.');
  try {
    const claims = JSON.parse(window.atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    return claims !== null && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

/** The value of an Authorization header for the token typed or obtained: `Bearer <token>`, or null for none. */
export function bearer(token) {
  const bare = token.trim().replace(/^Bearer\s+/i, '');
  return bare ? `Bearer ${bare}` : null;
}

const newSignInId = () => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

/**
 * The state kept for a pair from logIn or renewSession. Its lifetime is read from the token's own claims
 * (exp - iat) where it can be, so that a browser clock off from the server's does not move the renewal.
 */
function fromPair(pair, signInId, now = Date.now()) {
  const claims = readClaims(pair.token);
  const lifetime =
    typeof claims?.exp === 'number' && typeof claims?.iat === 'number'
      ? (claims.exp - claims.iat) * 1000
      : Date.parse(pair.expiresAt) - now;
  return {
    token: pair.token,
    refreshToken: pair.refreshToken,
    renewAt: now + lifetime - Math.min(RENEW_AHEAD_MS, lifetime / 3),
    signInId,
  };
}

function load(storage) {
  try {
    const stored = JSON.parse(storage.getItem(STORAGE_KEY) ?? 'null');
    if (stored && typeof stored.token === 'string') return { ...SIGNED_OUT, ...stored };
  } catch {
    // Unreadable: as if nobody had signed in.
  }
  const old = storage.getItem(OLD_TOKEN_KEY);
  return old ? { ...SIGNED_OUT, token: old, signInId: newSignInId() } : SIGNED_OUT;
}

/** Runs `task` under this page's renewal lock where the browser has Web Locks (secure contexts), else as it is. */
const exclusively = (task) => (navigator.locks ? navigator.locks.request(LOCK_NAME, task) : task());

/**
 * The sign-in of this page, kept in `storage`. Its snapshot is `{ token, refreshToken, renewAt, signInId }`:
 * `signInId` changes with who is signed in (not with a renewal), `refreshToken` is null for a pasted token.
 */
export function createSession(url, storage = window.localStorage) {
  let state = load(storage);
  const listeners = new Set();
  let renewing = null;
  let timer;

  const emit = () => listeners.forEach((listener) => listener(state));
  function schedule() {
    window.clearTimeout(timer);
    if (!state.refreshToken) return;
    const delay = Math.min(Math.max(state.renewAt - Date.now(), 0), MAX_DELAY_MS);
    timer = window.setTimeout(() => void renew(state.token), delay);
  }
  function adopt(next) {
    state = next;
    schedule();
    emit();
  }
  function set(next) {
    storage.setItem(STORAGE_KEY, JSON.stringify(next));
    storage.removeItem(OLD_TOKEN_KEY);
    adopt(next);
  }

  /** Renews the pair whose access token is `expected`, unless it was renewed (here or in another tab) meanwhile. */
  async function renewUnlessRenewed(expected) {
    const current = load(storage);
    if (current.token !== state.token) adopt(current);
    if (!current.refreshToken || current.token !== expected) return;
    try {
      const pair = await renewSession(url, current.refreshToken);
      // Signed in anew meanwhile: the renewed pair is of a session the page no longer uses.
      if (state.signInId === current.signInId) set(fromPair(pair, current.signInId));
    } catch (error) {
      if (state.signInId !== current.signInId) return;
      // Refused: spent, expired or ended. The access token is kept, for the label to say what became of it.
      if (error.code === 'UNAUTHENTICATED') set({ ...current, refreshToken: null, renewAt: null });
      else set({ ...current, renewAt: Date.now() + RETRY_MS });
    }
  }

  function renew(expected) {
    renewing ??= exclusively(() => renewUnlessRenewed(expected)).finally(() => {
      renewing = null;
    });
    return renewing;
  }

  // Another tab signed in, out, or renewed.
  window.addEventListener('storage', (event) => {
    if (event.key === STORAGE_KEY || event.key === null) adopt(load(storage));
  });
  schedule();

  return {
    /** The current state (a new object whenever it changes). */
    snapshot: () => state,

    /** Calls `listener` on every change; returns the function that stops it. */
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /** Whether the page holds a refresh token, so that a refused access token can be renewed. */
    canRenew: () => Boolean(state.refreshToken),

    /** The Authorization value to send now, renewed first if it is due; null when nobody is signed in. */
    async authorization() {
      if (renewing) await renewing;
      if (state.refreshToken && Date.now() >= state.renewAt) await renew(state.token);
      return bearer(state.token);
    },

    /**
     * For `refused`, an Authorization value the server refused as expired (or closed a WebSocket over): renews
     * it once, however many requests were refused with it, and returns the renewed value, or null if there is none.
     */
    async renewed(refused) {
      if (bearer(state.token) === refused && state.refreshToken) await renew(state.token);
      else if (renewing) await renewing;
      const now = bearer(state.token);
      return now && now !== refused ? now : null;
    },

    /** Signs in with a password; rejects with the server's reason. */
    async logIn(username, password) {
      set(fromPair(await logIn(url, username, password), newSignInId()));
    },

    /** Signs in with a refresh token from elsewhere (spending it); rejects with the server's reason. */
    async renewWith(refreshToken) {
      set(fromPair(await renewSession(url, refreshToken.trim()), newSignInId()));
    },

    /** Uses a token as typed, without renewal. */
    pasteToken(token) {
      set({ ...SIGNED_OUT, token, signInId: token ? newSignInId() : SIGNED_OUT.signInId });
    },

    /** Forgets the sign-in, and ends its session on the server when the page signed in itself. */
    async signOut() {
      const { token, refreshToken } = state;
      set(SIGNED_OUT);
      if (refreshToken) await logOut(url, bearer(token)).catch(() => undefined);
    },
  };
}
