import type { Client } from 'graphql-ws';
import { gqlOk, signUp, subscribe, wsClient } from '../helpers/client';
import { backendsAvailable } from '../helpers/backends';
import { useCluster } from '../helpers/cluster';
import { startTestServer } from '../helpers/server';
import { MESSAGE_ADDED_IDS } from '../helpers/operations';

const CHAT_SERVER = '{ chatServer }';

it('names this server on the embedded default', async () => {
  const server = await startTestServer();
  try {
    const user = await signUp(server.url);
    expect((await gqlOk(server.url, CHAT_SERVER, {}, user.token)).chatServer).toBe(server.wsUrl);
  } finally {
    await server.stop();
  }
});

const run = backendsAvailable('the discovery suite');

(run ? describe : describe.skip)('service discovery through Redis', () => {
  const holder = useCluster();

  async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (ok(value) || Date.now() > deadline) return value;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('sends clients to the least-loaded live server, and stops naming one that died', async () => {
    const env = { DISCOVERY_TTL_MS: '900' };
    const [a, b] = [await holder.current.start(env), await holder.current.start(env)];
    const user = await signUp(a.url);
    const ask = async () => (await gqlOk(a.url, CHAT_SERVER, {}, user.token)).chatServer as string;

    // Three devices on A, none on B: B is the answer, from either server.
    const clients: Client[] = [];
    for (let i = 0; i < 3; i++) {
      const client = wsClient(a.wsUrl, user.token);
      clients.push(client);
      subscribe(client, MESSAGE_ADDED_IDS);
    }
    expect(await eventually(ask, (url) => url === b.wsUrl)).toBe(b.wsUrl);
    expect((await gqlOk(b.url, CHAT_SERVER, {}, user.token)).chatServer).toBe(b.wsUrl);

    b.child.kill('SIGKILL');
    await b.exited;
    const started = Date.now();
    expect(await eventually(ask, (url) => url === a.wsUrl, 5_000)).toBe(a.wsUrl);
    expect(Date.now() - started).toBeLessThan(3_000);
    await Promise.all(clients.map((c) => c.dispose()));
  }, 60_000);
});
