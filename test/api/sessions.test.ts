import WebSocket from 'ws';
import { backendsAvailable } from '../helpers/backends';
import { useCluster } from '../helpers/cluster';
import { codes, gql, gqlOk, signUp, type TestUser } from '../helpers/client';
import { startTestServer, useTestServer } from '../helpers/server';

const LOG_IN = 'mutation($u: String!, $p: String!) { logIn(username: $u, password: $p) { token } }';
const ME = '{ me { id } }';

/** An authenticated graphql-ws connection, kept open; `closed` resolves with its close code. */
async function openSocket(wsUrl: string, token: string) {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => JSON.parse(String(data)).type === 'connection_ack' && resolve());
    void closed.then((code) => reject(new Error(`closed with ${code} before ack`)));
  });
  return { socket, closed };
}

const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms)),
  ]);

const secondDevice = async (url: string, user: TestUser) =>
  (await gqlOk(url, LOG_IN, { u: user.username, p: 'password-123' })).logIn.token as string;

describe('sessions', () => {
  const server = useTestServer();

  it("logOut revokes this token: refused over HTTP, its sockets closed with 4401; the other device's token stays valid", async () => {
    const user = await signUp(server.url, 'logout');
    const other = await secondDevice(server.url, user);
    const [mine, theirs] = [await openSocket(server.wsUrl, user.token), await openSocket(server.wsUrl, other)];
    expect((await gqlOk(server.url, 'mutation { logOut }', {}, user.token)).logOut).toBe(true);
    expect(await within(mine.closed, 2000)).toBe(4401);
    const refused = await gql(server.url, ME, {}, user.token);
    expect(codes(refused)).toEqual(['UNAUTHENTICATED']);
    expect(refused.errors![0]!.message).toMatch(/revoked/);
    expect((await gqlOk(server.url, ME, {}, other)).me.id).toBe(user.id);
    // A new connection with the revoked token is refused at connect time.
    const again = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const code = new Promise((resolve) => again.on('close', resolve));
    again.on('open', () =>
      again.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${user.token}` } })),
    );
    expect(await within(code, 2000)).toBe(4401);
    expect(theirs.socket.readyState).toBe(WebSocket.OPEN);
    theirs.socket.close();
  });

  it('refreshToken gives a working token with a later expiry', async () => {
    const user = await signUp(server.url, 'refresh');
    await new Promise((r) => setTimeout(r, 1100)); // expiries are in whole seconds
    const fresh = (await gqlOk(server.url, 'mutation { refreshToken { token user { id } } }', {}, user.token))
      .refreshToken;
    expect(fresh.user.id).toBe(user.id);
    const exp = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;
    expect(exp(fresh.token)).toBeGreaterThan(exp(user.token));
    expect((await gqlOk(server.url, ME, {}, fresh.token)).me.id).toBe(user.id);
    expect(codes(await gql(server.url, 'mutation { refreshToken { token } }'))).toEqual(['UNAUTHENTICATED']);
  });

  it('closes a connection with 4401 when its token expires', async () => {
    const short = await startTestServer({ env: { JWT_TTL_SECONDS: '2' } });
    try {
      const user = await signUp(short.url, 'expiring');
      const { closed } = await openSocket(short.wsUrl, user.token);
      expect(await within(closed, 4000)).toBe(4401);
    } finally {
      await short.stop();
    }
  });
});

const run = backendsAvailable('the cross-process session suite');
(run ? describe : describe.skip)('sessions across processes (MongoDB and Redis)', () => {
  const cluster = useCluster();

  it('a logOut on one process is refused on another, and closes its sockets there with 4401', async () => {
    const [a, b] = [await cluster.current.start(), await cluster.current.start()];
    try {
      const user = await signUp(a.url, 'multi');
      const onB = await openSocket(b.wsUrl, user.token);
      await new Promise((r) => setTimeout(r, 300)); // B follows the logOut channel
      await gqlOk(a.url, 'mutation { logOut }', {}, user.token);
      expect(await within(onB.closed, 5000)).toBe(4401);
      expect(codes(await gql(b.url, ME, {}, user.token))).toEqual(['UNAUTHENTICATED']);
    } finally {
      for (const p of [a, b]) p.child.kill('SIGTERM');
      await Promise.all([a.exited, b.exited]);
    }
  }, 60_000);
});
