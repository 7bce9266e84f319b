// The bar above the editor: the token in use (paste one there, or let the page obtain and renew one), what
// the server says about it, and the two ways for the page to sign in itself.
import { useState, useSyncExternalStore } from 'react';
import { describeStatus } from './status.js';

/** Runs a sign-in from a form, showing the server's reason when it fails. */
function useSignIn() {
  const [problem, setProblem] = useState(null);
  const [busy, setBusy] = useState(false);
  const run = (signIn) => async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    setBusy(true);
    setProblem(null);
    try {
      await signIn(new FormData(form));
      form.reset();
    } catch (error) {
      setProblem(error.message);
    } finally {
      setBusy(false);
    }
  };
  return { problem, busy, run };
}

/** The token field, its state, and the log-in and refresh-token forms. */
export function SignInBar({ session, status }) {
  const { token, refreshToken } = useSyncExternalStore(session.subscribe, session.snapshot);
  const verdict = useSyncExternalStore(status.subscribe, status.snapshot);
  const { problem, busy, run } = useSignIn();

  return (
    <div className="chat-auth">
      <form className="chat-row" onSubmit={(event) => event.preventDefault()}>
        <label htmlFor="chat-token">Token</label>
        <input
          id="chat-token"
          type="password"
          autoComplete="off"
          placeholder="an access token, used as it is (not renewed); or sign in below and the page renews its own"
          value={token}
          onChange={(event) => session.pasteToken(event.target.value)}
        />
        <span className="chat-token-state" data-state={verdict.kind} title={verdict.message ?? ''}>
          {describeStatus(verdict)}
          {verdict.kind === 'signedIn' && refreshToken ? ' (renewed by the page)' : ''}
        </span>
        {token ? (
          <button type="button" onClick={() => void session.signOut()}>
            Sign out
          </button>
        ) : null}
      </form>
      <div className="chat-row">
        <form
          className="chat-sign-in"
          onSubmit={run((data) => session.logIn(String(data.get('username')), String(data.get('password'))))}
        >
          <input id="chat-username" name="username" placeholder="username" autoComplete="username" required />
          <input
            id="chat-password"
            name="password"
            type="password"
            placeholder="password"
            autoComplete="current-password"
            required
          />
          <button type="submit" disabled={busy}>
            Log in
          </button>
        </form>
        <form className="chat-sign-in" onSubmit={run((data) => session.renewWith(String(data.get('refreshToken'))))}>
          <input
            id="chat-refresh-token"
            name="refreshToken"
            type="password"
            autoComplete="off"
            placeholder="or a refresh token (it is spent)"
            required
          />
          <button type="submit" disabled={busy}>
            Use refresh token
          </button>
        </form>
        {problem ? <span className="chat-problem">{problem}</span> : null}
      </div>
      <p className="chat-hint">
        The token goes as the Authorization header and in the WebSocket&apos;s connectionParams. An
        &quot;Authorization&quot; header in the Headers pane below takes its place, for subscriptions too (on a
        connection of its own), but nothing renews it.
      </p>
    </div>
  );
}
