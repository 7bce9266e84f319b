/* global window */
// What the label above the editor says about the page's token. Never guessed from the input being non-empty:
// the server is asked (`{ me { username } }`) whenever the token changes, whenever a request with it was
// refused, and when a pasted token's own expiry time has come.
import { isUnauthenticated, whoAmI } from './api.js';
import { bearer, readClaims } from './session.js';

/** The label of each verdict. */
export function describeStatus(status) {
  switch (status.kind) {
    case 'signedIn':
      return `signed in as ${status.username}`;
    case 'expired':
      return 'token expired';
    case 'ended':
      return 'session ended';
    case 'invalid':
      return 'invalid token';
    case 'checking':
      return 'checking the token…';
    case 'unknown':
      return `could not check the token: ${status.message}`;
    default:
      return 'not signed in';
  }
}

/**
 * The verdict on an answer to `{ me { username } }`. The reasons are the server's own messages for an expired
 * token and an ended session (src/auth/session.ts): this page is built and served with that server.
 */
function verdict(result) {
  if (result?.data?.me) return { kind: 'signedIn', username: result.data.me.username };
  const message = result?.errors?.[0]?.message ?? 'no answer';
  if (!isUnauthenticated(result)) return { kind: 'unknown', message };
  if (/expired/i.test(message)) return { kind: 'expired', message };
  if (/session ended/i.test(message)) return { kind: 'ended', message };
  return { kind: 'invalid', message };
}

/** The label's state for `session`: `{ kind, username?, message? }`, checked with the server at `url`. */
export function createStatus(url, session) {
  let status = { kind: bearer(session.snapshot().token) ? 'checking' : 'none' };
  const listeners = new Set();
  let latest = 0;
  let timer;

  function set(next) {
    status = next;
    listeners.forEach((listener) => listener(status));
  }

  /** Asks again when a token that nothing renews says it expires, for the label to say so without a request. */
  function watchExpiry() {
    window.clearTimeout(timer);
    const exp = readClaims(bearer(session.snapshot().token)?.slice('Bearer '.length) ?? '')?.exp;
    if (status.kind !== 'signedIn' || session.canRenew() || typeof exp !== 'number') return;
    timer = window.setTimeout(check, Math.min(Math.max(exp * 1000 - Date.now() + 500, 0), 2 ** 31 - 1));
  }

  async function check() {
    const asked = ++latest;
    const authorization = bearer(session.snapshot().token);
    if (!authorization) {
      set({ kind: 'none' });
      return;
    }
    // No token has spaces or characters outside printable ASCII (nor could a header carry the latter).
    if (!/^Bearer [\x21-\x7e]+$/.test(authorization)) {
      set({ kind: 'invalid', message: 'Not a token: it has spaces or characters that no token has.' });
      return;
    }
    let result;
    try {
      result = await whoAmI(url, await session.authorization());
    } catch (error) {
      result = { errors: [{ message: error.message }] };
    }
    // A later check (of a later token) decides.
    if (asked !== latest) return;
    set(verdict(result));
    watchExpiry();
  }

  let checkedToken = null;
  session.subscribe(({ token }) => {
    if (token === checkedToken) return;
    checkedToken = token;
    void check();
  });
  checkedToken = session.snapshot().token;
  void check();

  return {
    /** The current verdict (a new object whenever it changes). */
    snapshot: () => status,
    /** Calls `listener` on every change; returns the function that stops it. */
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Asks the server again: a request with the page's token was just refused. */
    recheck: () => void check(),
  };
}
