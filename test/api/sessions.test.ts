import WebSocket from 'ws';
import { backendsAvailable } from '../helpers/backends';
import { useCluster } from '../helpers/cluster';
import { codes, gql, gqlOk, openSocket, type TestUser, uniqueName } from '../helpers/client';
import { startTestServer, useTestServer } from '../helpers/server';

const PAIR = 'token expiresAt refreshToken session { id current deviceName createdAt lastUsedAt }';
const LOG_IN = `mutation($u: String!, $p: String!, $d: String) { logIn(username: $u, password: $p, deviceName: $d) { ${PAIR} } }`;
const SIGN_UP = `mutation($u: String!, $p: String!) { signUp(username: $u, password: $p) { ${PAIR} user { id } } }`;
const RENEW = `mutation($r: String!) { renewSession(refreshToken: $r) { ${PAIR} user { id } } }`;
const SESSIONS = '{ sessions { id current deviceName lastUsedAt } }';
const ME = '{ me { id } }';

const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms)),
  ]);

/** A session as signUp, logIn and renewSession answer it. */
interface Pair {
  token: string;
  expiresAt: string;
  refreshToken: string;
  session: { id: string; current: boolean; deviceName: string | null };
}

const logIn = async (url: string, user: TestUser, deviceName?: string): Promise<Pair> =>
  (await gqlOk(url, LOG_IN, { u: user.username, p: 'password-123', d: deviceName })).logIn;

const secondDevice = async (url: string, user: TestUser) => (await logIn(url, user)).token;

const renew = (url: string, refreshToken: string) => gql(url, RENEW, { r: refreshToken });

/** A new user and the pair its signUp gave. */
async function signedUp(url: string, prefix: string): Promise<{ user: TestUser; pair: Pair }> {
  const username = uniqueName(prefix);
  const data = (await gqlOk(url, SIGN_UP, { u: username, p: 'password-123' })).signUp;
  return { user: { id: data.user.id, username, token: data.token }, pair: data };
}

/** A socket's close code after a connection_init with `token`, without waiting for an ack. */
async function connectCode(wsUrl: string, token: string): Promise<number> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const code = new Promise<number>((resolve) => socket.on('close', resolve));
  socket.on('open', () =>
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
  );
  return within(code, 4000);
}

describe('sessions', () => {
  const server = useTestServer();

  it('signUp and logIn start a session each: an access token with its expiry, a refresh token, the session', async () => {
    const before = Date.now();
    const { user, pair } = await signedUp(server.url, 'start');
    expect(pair.session.current).toBe(true);
    expect(pair.refreshToken.length).toBeGreaterThanOrEqual(40);
    // The default access token lives 15 minutes.
    const left = new Date(pair.expiresAt).getTime() - before;
    expect(left).toBeGreaterThan(890_000);
    expect(left).toBeLessThan(905_000);
    const phone = await logIn(server.url, user, 'Pixel 9');
    expect(phone.session).toMatchObject({ current: true, deviceName: 'Pixel 9' });
    expect(phone.session.id).not.toBe(pair.session.id);
    // Listed most recently used first; `current` is the asking token's.
    const listed = (await gqlOk(server.url, SESSIONS, {}, pair.token)).sessions;
    expect(listed.map((s: any) => [s.id, s.current])).toEqual([
      [phone.session.id, false],
      [pair.session.id, true],
    ]);
    // Without a name, the User-Agent names it; control characters and length are tamed.
    const agent = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': `TestAgent/1.0\t${'x'.repeat(500)}` },
      body: JSON.stringify({ query: LOG_IN, variables: { u: user.username, p: 'password-123' } }),
    }).then((r) => r.json() as Promise<any>);
    expect(agent.data.logIn.session.deviceName).toMatch(/^TestAgent\/1\.0 x+$/);
    expect(agent.data.logIn.session.deviceName).toHaveLength(200);
  });

  it('renewSession spends the refresh token for a new pair; the spent one presented again ends the whole session', async () => {
    const { user, pair } = await signedUp(server.url, 'renew');
    const other = await logIn(server.url, user);
    const first = (await renew(server.url, pair.refreshToken)).data!.renewSession;
    expect(first.session.id).toBe(pair.session.id);
    expect(first.refreshToken).not.toBe(pair.refreshToken);
    expect((await gqlOk(server.url, ME, {}, first.token)).me.id).toBe(user.id);
    const second = (await renew(server.url, first.refreshToken)).data!.renewSession;
    const live = await openSocket(server.wsUrl, second.token);
    const otherSocket = await openSocket(server.wsUrl, other.token);

    // A thief replays the first refresh token: refused, and the session is over for everyone holding it.
    const replay = await renew(server.url, first.refreshToken);
    expect(codes(replay)).toEqual(['UNAUTHENTICATED']);
    expect(replay.errors![0]!.message).toMatch(/already used/);
    expect(await within(live.closed, 2000)).toBe(4401);
    for (const token of [pair.token, first.token, second.token])
      expect(codes(await gql(server.url, ME, {}, token))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await renew(server.url, second.refreshToken))).toEqual(['UNAUTHENTICATED']);
    expect(await connectCode(server.wsUrl, second.token)).toBe(4401);
    // The user's other device is untouched.
    expect((await gqlOk(server.url, ME, {}, other.token)).me.id).toBe(user.id);
    expect(otherSocket.socket.readyState).toBe(WebSocket.OPEN);
    otherSocket.socket.close();
    expect(codes(await renew(server.url, 'not-a-refresh-token'))).toEqual(['UNAUTHENTICATED']);
  });

  it('keeps at most MAX_SESSIONS_PER_USER live sessions per user: signing in past that ends the least recently used', async () => {
    // The default is 100; 3 here, so that the test signs in 4 times rather than 101 (scrypt each).
    const capped = await startTestServer({ env: { MAX_SESSIONS_PER_USER: '3' } });
    try {
      const { user, pair } = await signedUp(capped.url, 'many');
      const socket = await openSocket(capped.wsUrl, pair.token);
      const later: Pair[] = [];
      for (let i = 0; i < 2; i++) later.push(await logIn(capped.url, user));
      expect((await gqlOk(capped.url, SESSIONS, {}, pair.token)).sessions).toHaveLength(3);
      // One more: the first (least recently used) ends, everywhere.
      const newest = await logIn(capped.url, user);
      expect(await within(socket.closed, 2000)).toBe(4401);
      expect(codes(await gql(capped.url, ME, {}, pair.token))).toEqual(['UNAUTHENTICATED']);
      const listed = (await gqlOk(capped.url, SESSIONS, {}, newest.token)).sessions.map((s: any) => s.id);
      expect(listed).toEqual([newest.session.id, later[1]!.session.id, later[0]!.session.id]);
      expect((await gqlOk(capped.url, ME, {}, later[0]!.token)).me.id).toBe(user.id);
    } finally {
      await capped.stop();
    }
  });

  it('of concurrent renewals with one refresh token exactly one gets a pair', async () => {
    for (const count of [2, 5]) {
      const { pair } = await signedUp(server.url, 'race');
      const answers = await Promise.all(Array.from({ length: count }, () => renew(server.url, pair.refreshToken)));
      expect(answers.filter((a) => a.data?.renewSession)).toHaveLength(1);
      expect(answers.flatMap((a) => codes(a)).sort()).toEqual(Array(count - 1).fill('UNAUTHENTICATED'));
    }
  });

  it("logOut ends this session: refused over HTTP, its sockets closed with 4401, its refresh token spent; the other device's session stays", async () => {
    const { user, pair } = await signedUp(server.url, 'logout');
    const other = await secondDevice(server.url, user);
    const [mine, theirs] = [await openSocket(server.wsUrl, pair.token), await openSocket(server.wsUrl, other)];
    expect((await gqlOk(server.url, 'mutation { logOut }', {}, pair.token)).logOut).toBe(true);
    expect(await within(mine.closed, 2000)).toBe(4401);
    const refused = await gql(server.url, ME, {}, pair.token);
    expect(codes(refused)).toEqual(['UNAUTHENTICATED']);
    expect(refused.errors![0]!.message).toMatch(/ended/);
    expect(codes(await renew(server.url, pair.refreshToken))).toEqual(['UNAUTHENTICATED']);
    expect((await gqlOk(server.url, ME, {}, other)).me.id).toBe(user.id);
    // A new connection with the token of the ended session is refused at connect time, not to be retried.
    expect(await connectCode(server.wsUrl, pair.token)).toBe(4401);
    expect(theirs.socket.readyState).toBe(WebSocket.OPEN);
    theirs.socket.close();
  });

  it('revokeSession ends one of the viewer’s sessions, idempotently; another user’s session is NOT_FOUND', async () => {
    const { user, pair } = await signedUp(server.url, 'revoke');
    const laptop = await logIn(server.url, user, 'laptop');
    const socket = await openSocket(server.wsUrl, laptop.token);
    const REVOKE = 'mutation($s: ID!) { revokeSession(sessionId: $s) }';
    expect((await gqlOk(server.url, REVOKE, { s: laptop.session.id }, pair.token)).revokeSession).toBe(true);
    expect(await within(socket.closed, 2000)).toBe(4401);
    expect(codes(await gql(server.url, ME, {}, laptop.token))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await renew(server.url, laptop.refreshToken))).toEqual(['UNAUTHENTICATED']);
    expect((await gqlOk(server.url, REVOKE, { s: laptop.session.id }, pair.token)).revokeSession).toBe(true);
    expect((await gqlOk(server.url, SESSIONS, {}, pair.token)).sessions.map((s: any) => s.id)).toEqual([
      pair.session.id,
    ]);
    const stranger = await signedUp(server.url, 'stranger');
    expect(codes(await gql(server.url, REVOKE, { s: pair.session.id }, stranger.pair.token))).toEqual(['NOT_FOUND']);
    expect(codes(await gql(server.url, REVOKE, { s: 'no-such-session' }, stranger.pair.token))).toEqual(['NOT_FOUND']);
    expect((await gqlOk(server.url, ME, {}, pair.token)).me.id).toBe(user.id);
  });

  it('refreshToken gives a new pair of the same session with a later expiry; the previous refresh token is spent', async () => {
    const { user, pair } = await signedUp(server.url, 'refresh');
    await new Promise((r) => setTimeout(r, 1100)); // expiries are in whole seconds
    const fresh = (await gqlOk(server.url, `mutation { refreshToken { ${PAIR} user { id } } }`, {}, pair.token))
      .refreshToken;
    expect(fresh.user.id).toBe(user.id);
    expect(fresh.session.id).toBe(pair.session.id);
    expect(new Date(fresh.expiresAt).getTime()).toBeGreaterThan(new Date(pair.expiresAt).getTime());
    expect((await gqlOk(server.url, ME, {}, fresh.token)).me.id).toBe(user.id);
    expect((await renew(server.url, fresh.refreshToken)).data?.renewSession.session.id).toBe(pair.session.id);
    expect(codes(await gql(server.url, 'mutation { refreshToken { token } }'))).toEqual(['UNAUTHENTICATED']);
  });

  it('an expired access token: 4403 on its socket (graphql-ws retries that), and renewSession still works', async () => {
    const short = await startTestServer({ env: { ACCESS_TOKEN_TTL_SECONDS: '2' } });
    try {
      const { user, pair } = await signedUp(short.url, 'expiring');
      const { closed } = await openSocket(short.wsUrl, pair.token);
      expect(await within(closed, 4000)).toBe(4403);
      const expired = await gql(short.url, ME, {}, pair.token);
      expect(codes(expired)).toEqual(['UNAUTHENTICATED']);
      expect(expired.errors![0]!.message).toMatch(/renewSession/);
      expect(await connectCode(short.wsUrl, pair.token)).toBe(4403);
      const renewed = (await renew(short.url, pair.refreshToken)).data!.renewSession;
      expect((await gqlOk(short.url, ME, {}, renewed.token)).me.id).toBe(user.id);
      await (await openSocket(short.wsUrl, renewed.token)).socket.close();
    } finally {
      await short.stop();
    }
  });

  it('sockets whose tokens expire at different times are each closed with 4403 when their own token expires', async () => {
    const short = await startTestServer({ env: { ACCESS_TOKEN_TTL_SECONDS: '2' } });
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      const first = await signedUp(short.url, 'expiresfirst');
      const a = await openSocket(short.wsUrl, first.pair.token);
      const gone = await openSocket(short.wsUrl, first.pair.token);
      await pause(1100);
      // Tokens expire on whole seconds: this one at least a second after the first.
      const second = await signedUp(short.url, 'expireslater');
      const b = await openSocket(short.wsUrl, second.pair.token);
      // A socket closed before its token expires leaves the others' expiry alone.
      gone.socket.close();
      expect(await within(a.closed, 4000)).toBe(4403);
      expect(b.socket.readyState).toBe(WebSocket.OPEN);
      expect(await within(b.closed, 4000)).toBe(4403);
    } finally {
      await short.stop();
    }
  });

  it('a refresh token unused for REFRESH_TOKEN_TTL_SECONDS is refused; each renewal gives the whole lifetime again', async () => {
    const short = await startTestServer({ env: { REFRESH_TOKEN_TTL_SECONDS: '2' } });
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      const { pair } = await signedUp(short.url, 'sliding');
      // 1.3 s apart each, 2.6 s in all: only a sliding lifetime keeps the second one valid.
      await pause(1300);
      const first = (await renew(short.url, pair.refreshToken)).data!.renewSession;
      await pause(1300);
      const second = (await renew(short.url, first.refreshToken)).data!.renewSession;
      expect(second.session.id).toBe(pair.session.id);
      await pause(2200);
      const late = await renew(short.url, second.refreshToken);
      expect(codes(late)).toEqual(['UNAUTHENTICATED']);
      expect(late.errors![0]!.message).toMatch(/expired/);
    } finally {
      await short.stop();
    }
  });
});

const run = backendsAvailable('the cross-process session suite');
(run ? describe : describe.skip)('sessions across processes (MongoDB and Redis)', () => {
  const cluster = useCluster();

  it('a session ended on one process (logOut, revokeSession, reuse) is refused on another and its sockets there closed with 4401', async () => {
    const [a, b] = [await cluster.current.start(), await cluster.current.start()];
    try {
      for (const end of ['logOut', 'revokeSession', 'reuse'] as const) {
        const { pair } = await signedUp(a.url, 'multi');
        const renewed = (await renew(b.url, pair.refreshToken)).data!.renewSession;
        const onB = await openSocket(b.wsUrl, renewed.token);
        await new Promise((r) => setTimeout(r, 300)); // B follows the revocation channel
        if (end === 'logOut') await gqlOk(a.url, 'mutation { logOut }', {}, renewed.token);
        if (end === 'revokeSession')
          await gqlOk(
            a.url,
            'mutation($s: ID!) { revokeSession(sessionId: $s) }',
            { s: pair.session.id },
            renewed.token,
          );
        if (end === 'reuse') expect(codes(await renew(a.url, pair.refreshToken))).toEqual(['UNAUTHENTICATED']);
        expect([end, await within(onB.closed, 5000)]).toEqual([end, 4401]);
        expect(codes(await gql(b.url, ME, {}, renewed.token))).toEqual(['UNAUTHENTICATED']);
        expect(codes(await renew(b.url, renewed.refreshToken))).toEqual(['UNAUTHENTICATED']);
      }
    } finally {
      for (const p of [a, b]) p.child.kill('SIGTERM');
      await Promise.all([a.exited, b.exited]);
    }
  }, 60_000);

  it('two processes renewing one refresh token at once: exactly one gets a pair', async () => {
    const [a, b] = [await cluster.current.start(), await cluster.current.start()];
    try {
      for (let round = 0; round < 5; round++) {
        const { pair } = await signedUp(a.url, 'race');
        const answers = await Promise.all([renew(a.url, pair.refreshToken), renew(b.url, pair.refreshToken)]);
        expect(answers.filter((x) => x.data?.renewSession)).toHaveLength(1);
        expect(answers.flatMap((x) => codes(x))).toEqual(['UNAUTHENTICATED']);
      }
    } finally {
      for (const p of [a, b]) p.child.kill('SIGTERM');
      await Promise.all([a.exited, b.exited]);
    }
  }, 60_000);
});
