import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { gqlOk, signUpMany, subscribe, wsClient, type TestUser } from '../helpers/client';
import { CREATE_GROUP, SEND } from '../helpers/operations';
import { startServerProcess, type ServerProcess } from '../helpers/process';

const BOUND = 1024 * 1024;
const PAUSED = 10;
const SUBSCRIPTIONS = 50;
const MESSAGES = 10;

/** The server process's resident memory, in bytes. */
function rss(server: ServerProcess): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

/**
 * A client that subscribes `count` times, waits until each subscription has
 * delivered a first event (so all are live), then stops reading its socket.
 */
async function pausedClient(wsUrl: string, user: TestUser, count: number, live: () => Promise<void>) {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const nexts: number[] = [];
  let closed: number | null = null;
  socket.on('close', (code) => (closed = code));
  socket.on('message', (data) => {
    const message = JSON.parse(String(data));
    if (message.type === 'next') nexts.push(1);
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${user.token}` } }));
  await new Promise<void>((resolve) =>
    socket.on('message', (data) => JSON.parse(String(data)).type === 'connection_ack' && resolve()),
  );
  for (let i = 0; i < count; i++) {
    socket.send(
      JSON.stringify({
        id: String(i),
        type: 'subscribe',
        payload: { query: 'subscription { messageAdded { id content } }' },
      }),
    );
  }
  return {
    /** Waits for every subscription to have delivered the probe `live()` sends, then stops reading. */
    async pauseWhenLive() {
      for (let round = 0; nexts.length < count; round++) {
        if (round > 50) throw new Error(`only ${nexts.length} of ${count} subscriptions became live`);
        await live();
        await new Promise((r) => setTimeout(r, 100));
      }
      (socket as unknown as { _socket: { pause(): void } })._socket.pause();
    },
    resume: () => (socket as unknown as { _socket: { resume(): void } })._socket.resume(),
    closed: () => closed,
    dispose: () => socket.terminate(),
  };
}

describe('a client that stops reading', () => {
  it('is closed once its backlog passes WS_MAX_BUFFERED_BYTES: server memory stays bounded, others are unaffected', async () => {
    const server = await startServerProcess({
      JWT_SECRET: 'backpressure-secret-backpressure-secret',
      WS_MAX_BUFFERED_BYTES: String(BOUND),
      AUTH_RATE_BURST: '100000',
      MESSAGE_RATE_BURST: '100000',
      MESSAGE_RATE_PER_SECOND: '100000',
      LOG_LEVEL: 'info',
    });
    const clients: Awaited<ReturnType<typeof pausedClient>>[] = [];
    try {
      const [sender, healthy, ...readers] = await signUpMany(server.url, PAUSED + 2, 'slow');
      const c = (
        await gqlOk(
          server.url,
          CREATE_GROUP,
          { t: 'big', m: [healthy!.id, ...readers.map((r) => r.id)] },
          sender!.token,
        )
      ).createGroup.id;
      const send = (t: string) => gqlOk(server.url, SEND, { c, t }, sender!.token);
      for (const reader of readers)
        clients.push(await pausedClient(server.wsUrl, reader, SUBSCRIPTIONS, async () => void (await send('probe'))));
      const good = subscribe(wsClient(server.wsUrl, healthy!.token), 'subscription { messageAdded { id content } }');
      for (const client of clients) await client.pauseWhenLive();
      await send('probe');
      await good.take(1, 10_000);
      while ((await good.take(1, 300).catch(() => null)) !== null); // drain the probes

      const before = rss(server);
      let peak = before;
      const latencies: number[] = [];
      for (let i = 0; i < MESSAGES; i++) {
        const sent = Date.now();
        await send(`${i}:${'x'.repeat(99_990)}`);
        const [got] = await good.take(1, 10_000);
        latencies.push(Date.now() - sent);
        expect(got.messageAdded.content.startsWith(`${i}:`)).toBe(true);
        peak = Math.max(peak, rss(server));
      }
      await new Promise((r) => setTimeout(r, 1500));
      peak = Math.max(peak, rss(server));
      const growth = peak - before;
      // eslint-disable-next-line no-console
      console.log(
        `backpressure: RSS ${(before / 1e6).toFixed(0)} MB -> peak ${(peak / 1e6).toFixed(0)} MB (+${(growth / 1e6).toFixed(0)} MB) ` +
          `with ${PAUSED} paused sockets x ${SUBSCRIPTIONS} subscriptions, ${MESSAGES} messages of 100,000 characters; ` +
          `healthy client's latency max ${Math.max(...latencies)} ms`,
      );
      expect(growth).toBeLessThan(PAUSED * BOUND * 3 + 100e6);
      expect(Math.max(...latencies)).toBeLessThan(2000);
      // Each paused client was cut off: resumed, it finds its socket closed.
      for (const client of clients) client.resume();
      // Reading through what the kernel still holds for it can take a while on a busy machine.
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
        if (clients.every((client) => client.closed() !== null)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(clients.map((client) => client.closed() !== null)).toEqual(clients.map(() => true));
      good.dispose();
    } finally {
      clients.forEach((client) => client.dispose());
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }, 120_000);
});
