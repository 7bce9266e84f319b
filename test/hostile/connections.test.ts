/**
 * The attacker's connection flood: one user (or one address) opening socket
 * after socket, and subscription after subscription, through every process
 * behind the load balancer. The caps are shared by the processes, and a
 * process that dies gives its places back.
 */
import WebSocket from 'ws';
import { signUp, signUpMany, type TestUser } from '../helpers/client';
import { useCluster } from '../helpers/cluster';
import type { ServerProcess } from '../helpers/process';
import { useTestServer } from '../helpers/server';
import { MESSAGE_ADDED_IDS } from '../helpers/operations';

/** How a graphql-ws connection attempt ended: acknowledged (open), or closed with a code and reason. */
interface Attempt {
  acknowledged: boolean;
  code?: number;
  reason?: string;
  socket: WebSocket;
  /** Sends a subscribe and resolves with the server's first answer to it. */
  subscribe(id: string): Promise<any>;
}

async function connect(wsUrl: string, user: TestUser): Promise<Attempt> {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const waiting = new Map<string, (message: any) => void>();
  const outcome = new Promise<Pick<Attempt, 'acknowledged' | 'code' | 'reason'>>((resolve) => {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'connection_ack') resolve({ acknowledged: true });
      if (message.id !== undefined) waiting.get(message.id)?.(message);
    });
    socket.on('close', (code, reason) => resolve({ acknowledged: false, code, reason: String(reason) }));
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${user.token}` } }));
  const subscribe = (id: string) => {
    const answer = new Promise<any>((resolve) => waiting.set(id, resolve));
    socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: MESSAGE_ADDED_IDS } }));
    // A live subscription says nothing until a message comes: no answer within a while means it started.
    return Promise.race([answer, new Promise((r) => setTimeout(() => r({ type: 'started' }), 300))]);
  };
  return { ...(await outcome), socket, subscribe };
}

const closed = (attempt: Attempt) =>
  new Promise<void>((resolve) => {
    if (attempt.socket.readyState === WebSocket.CLOSED) return resolve();
    attempt.socket.once('close', () => resolve());
    attempt.socket.close();
  });

describe('connections and subscriptions per user and per address, on one process', () => {
  const server = useTestServer({
    env: { MAX_CONNECTIONS_PER_USER: '3', MAX_CONNECTIONS_PER_ADDRESS: '5', MAX_SUBSCRIPTIONS_PER_USER: '4' },
  });
  const open: Attempt[] = [];
  afterAll(() => Promise.all(open.map(closed)));

  it('closes the connection past the per-user cap with 4429 saying why, and takes one again once another closed', async () => {
    const user = await signUp(server.url, 'flood');
    for (let i = 0; i < 3; i++) open.push(await connect(server.wsUrl, user));
    expect(open.map((a) => a.acknowledged)).toEqual([true, true, true]);
    const refused = await connect(server.wsUrl, user);
    expect(refused).toMatchObject({ acknowledged: false, code: 4429 });
    expect(refused.reason).toMatch(/at most 3 per user/);
    await closed(open.shift()!);
    await new Promise((r) => setTimeout(r, 50));
    open.push(await connect(server.wsUrl, user));
    expect(open.at(-1)!.acknowledged).toBe(true);
  });

  it('closes the connection past the per-address cap, whoever the user', async () => {
    const other = await signUp(server.url, 'flood');
    const attempts = [await connect(server.wsUrl, other), await connect(server.wsUrl, other)];
    open.push(...attempts);
    expect(attempts.map((a) => a.acknowledged)).toEqual([true, true]);
    const refused = await connect(server.wsUrl, other);
    expect(refused).toMatchObject({ acknowledged: false, code: 4429 });
    expect(refused.reason).toMatch(/at most 5 from one address/);
  });

  it("refuses a user's subscriptions past the per-user cap over all their connections", async () => {
    await Promise.all(open.splice(0).map(closed));
    const user = await signUp(server.url, 'subs');
    const [a, b] = [await connect(server.wsUrl, user), await connect(server.wsUrl, user)];
    open.push(a, b);
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await (i % 2 === 0 ? a : b).subscribe(String(i)));
    expect(answers.slice(0, 4).map((m) => m.type)).toEqual(['started', 'started', 'started', 'started']);
    expect(answers[4]).toMatchObject({ type: 'error' });
    expect(answers[4].payload[0].extensions.code).toBe('RATE_LIMITED');
    expect(answers[4].payload[0].message).toMatch(/at most 4 subscriptions.*one user/i);
    // Completing one gives its place back.
    a.socket.send(JSON.stringify({ id: '0', type: 'complete' }));
    await new Promise((r) => setTimeout(r, 50));
    expect((await b.subscribe('5')).type).toBe('started');
  });
});

describe('connections per user across two processes sharing Redis', () => {
  const cluster = useCluster();
  let a: ServerProcess;
  let b: ServerProcess;
  const caps = { MAX_CONNECTIONS_PER_USER: '4', MAX_CONNECTIONS_PER_ADDRESS: '1000', PRESENCE_TIMEOUT_MS: '1500' };
  beforeAll(async () => {
    [a, b] = await Promise.all([cluster.current.start(caps), cluster.current.start(caps)]);
  }, 60_000);

  it('counts the connections of both processes against one cap, and forgets those of a process that died', async () => {
    const [user] = await signUpMany(a.url, 1, 'twoproc');
    const held: Attempt[] = [];
    for (let i = 0; i < 4; i++) held.push(await connect((i % 2 === 0 ? a : b).wsUrl, user!));
    expect(held.map((h) => h.acknowledged)).toEqual([true, true, true, true]);
    for (const server of [a, b]) {
      const refused = await connect(server.wsUrl, user!);
      expect(refused).toMatchObject({ acknowledged: false, code: 4429 });
    }
    // A dies holding two of them, without a word to Redis: after its entry expires, B counts only its own.
    a.child.kill('SIGKILL');
    await a.exited;
    const deadline = Date.now() + 10_000;
    let again: Attempt;
    do {
      await new Promise((r) => setTimeout(r, 250));
      again = await connect(b.wsUrl, user!);
    } while (!again.acknowledged && Date.now() < deadline);
    expect(again.acknowledged).toBe(true);
    // Two of B's and this one: one more place, then the cap again.
    const last = await connect(b.wsUrl, user!);
    expect(last.acknowledged).toBe(true);
    expect(await connect(b.wsUrl, user!)).toMatchObject({ acknowledged: false, code: 4429 });
    await Promise.all([...held, again, last].map(closed));
  }, 60_000);
});
