import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { gql, gqlOk, signUpMany, type TestUser } from '../helpers/client';
import { CREATE_GROUP, SEND } from '../helpers/operations';
import { startServerProcess, type ServerProcess } from '../helpers/process';

/** Issue 20: one user's HTTP clients that ask for large answers and never read them. */
const CONNECTIONS = 100;
/** Messages of 100,000 characters: a page of all of them is a 10 MB answer, under MAX_QUERY_COST_BYTES. */
const MESSAGES = 100;
const WRITE_TIMEOUT_MS = 2000;
/** What the slow reader reads at a time, every 60 ms. */
const BURST_BYTES = 100_000;
const PAGE = `query($c: ID!) { messages(conversationId: $c, last: ${MESSAGES}) { edges { node { id content } } } }`;

/** The server process's resident memory, in bytes. */
function rss(server: ServerProcess): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

/** Sockets the server process holds open (its listener included). */
function openSockets(server: ServerProcess): number {
  const dir = `/proc/${server.child.pid}/fd`;
  return readdirSync(dir).filter((fd) => {
    try {
      return readlinkSync(`${dir}/${fd}`).startsWith('socket:');
    } catch {
      return false; // closed meanwhile
    }
  }).length;
}

/** What one attacking connection finally read, once it resumed reading. */
type Outcome = { kind: 'answer'; status: number; codes: string[] } | { kind: 'cut off'; bytes: number };

/** A raw TCP connection that POSTs `body` (keep-alive, as any HTTP client does) and reads nothing yet. */
function post(port: number, token: string, body: string): Socket {
  const socket = connect({ host: '127.0.0.1', port });
  socket.pause();
  socket.on('error', () => undefined); // a reset is one way of being cut off
  socket.write(
    `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Authorization: Bearer ${token}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  return socket;
}

/** The attacker: asks for `body` and does not read a byte of the answer. */
function pausedReader(port: number, token: string, body: string) {
  const socket = post(port, token, body);
  return {
    /** Reads everything the kernel kept for it, until the server has closed the connection. */
    async readToEnd(timeoutMs: number): Promise<Outcome | 'still open'> {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      const closed = new Promise<boolean>((resolve) => {
        socket.once('close', () => resolve(true));
        setTimeout(() => resolve(false), timeoutMs).unref();
      });
      socket.resume();
      if (!(await closed)) return 'still open';
      const raw = Buffer.concat(chunks);
      const headerEnd = raw.indexOf('\r\n\r\n');
      const head = raw.subarray(0, Math.max(0, headerEnd)).toString('latin1');
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? NaN);
      const body = raw.subarray(headerEnd + 4);
      if (headerEnd < 0 || !(body.length >= length)) return { kind: 'cut off', bytes: raw.length };
      const json = JSON.parse(body.subarray(0, length).toString('utf8')) as {
        errors?: { extensions?: { code?: string } }[];
      };
      return {
        kind: 'answer',
        status: Number(head.split(' ')[1]),
        codes: (json.errors ?? []).map((e) => e.extensions?.code ?? '?'),
      };
    },
    destroy: () => socket.destroy(),
  };
}

describe('HTTP clients that ask for large answers', () => {
  let server: ServerProcess;
  let user: TestUser;
  let c: string;
  let request: string;
  beforeAll(async () => {
    server = await startServerProcess({
      JWT_SECRET: 'hostile-readers-secret-hostile-readers-secret',
      HTTP_WRITE_TIMEOUT_MS: String(WRITE_TIMEOUT_MS),
      AUTH_RATE_BURST: '100000',
      MESSAGE_RATE_BURST: '100000',
      MESSAGE_RATE_PER_SECOND: '100000',
    });
    const [u, friend] = await signUpMany(server.url, 2, 'reader');
    user = u!;
    c = (await gqlOk(server.url, CREATE_GROUP, { t: 'big', m: [friend!.id] }, user.token)).createGroup.id;
    for (let i = 0; i < MESSAGES; i++)
      await gqlOk(server.url, SEND, { c, t: `${i}:${'x'.repeat(99_990)}` }, user.token);
    request = JSON.stringify({ query: PAGE, variables: { c } });
    // One page as a client reads it: 10 MB.
    const page = await gqlOk(server.url, PAGE, { c }, user.token);
    expect(page.messages.edges).toHaveLength(MESSAGES);
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
  });
  const port = () => Number(new URL(server.url).port);

  it('and never read them hold bounded server memory, do not slow /healthz, and are disconnected', async () => {
    const readers: ReturnType<typeof pausedReader>[] = [];
    try {
      const sockets = openSockets(server);
      const before = rss(server);
      let peak = before;
      const health: number[] = [];
      let failedProbes = 0;
      const started = Date.now();
      for (let i = 0; i < CONNECTIONS; i++) readers.push(pausedReader(port(), user.token, request));

      // Meanwhile: one /healthz probe at a time, the server's memory, and when it has let go of the attackers.
      let done = false;
      const probing = (async () => {
        while (!done) {
          const sent = performance.now();
          const ok = await fetch(server.url.replace('/graphql', '/healthz')).then(
            (res) => res.ok,
            () => false,
          );
          if (!ok) failedProbes++;
          health.push(performance.now() - sent);
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      let releasedAfter: number | null = null;
      // Answers refused at once are closed by the keep-alive timeout (5 s), the others by the write timeout.
      for (const deadline = started + WRITE_TIMEOUT_MS + 10_000; Date.now() < deadline; ) {
        peak = Math.max(peak, rss(server));
        if (Date.now() - started > 1000 && openSockets(server) <= sockets) {
          releasedAfter = Date.now() - started;
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      done = true;
      await probing;
      const outcomes = await Promise.all(readers.map((reader) => reader.readToEnd(5000)));
      const tally = new Map<string, number>();
      for (const o of outcomes) {
        const key = typeof o === 'string' ? o : o.kind === 'cut off' ? 'cut off' : `${o.status} ${o.codes.join(',')}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
      }
      // eslint-disable-next-line no-console
      console.log(
        `http readers: RSS ${(before / 1e6).toFixed(0)} MB -> peak ${(peak / 1e6).toFixed(0)} MB ` +
          `(+${((peak - before) / 1e6).toFixed(0)} MB) with ${CONNECTIONS} paused readers of ${MESSAGES / 10} MB answers; ` +
          `/healthz max ${Math.max(...health).toFixed(0)} ms over ${health.length} probes (${failedProbes} failed); ` +
          `server let go of them after ${releasedAfter ?? `more than ${Date.now() - started}`} ms; ` +
          `outcomes ${JSON.stringify(Object.fromEntries(tally))}`,
      );

      expect(peak - before).toBeLessThan(150e6);
      // A burst of 100 requests is about half a second of the server's work, whatever they ask for (more on a
      // loaded machine); building 100 large answers blocked it for 9 s and more.
      expect(Math.max(...health)).toBeLessThan(3000);
      expect(failedProbes).toBe(0);
      expect(releasedAfter).not.toBeNull();
      // Each was refused at once (and read that answer whole once it read) or was cut off.
      const kinds = outcomes.map((o) =>
        o === 'still open' ? o : o.kind === 'cut off' ? o.kind : o.codes[0] === 'RATE_LIMITED' ? 'refused' : 'answered',
      );
      expect(kinds.filter((k) => k !== 'cut off' && k !== 'refused')).toEqual([]);
      // The same user's clients that read are served again.
      expect(await gql(server.url, PAGE, { c }, user.token)).not.toHaveProperty('errors');
    } finally {
      readers.forEach((reader) => reader.destroy());
    }
  }, 60_000);

  it('and read them slowly but steadily get them whole, however long that takes', async () => {
    const socket = post(port(), user.token, request);
    let head = '';
    let received = 0;
    let burst = 0;
    socket.on('data', (chunk: Buffer) => {
      if (received === 0) head = chunk.toString('latin1', 0, 500);
      received += chunk.length;
      burst += chunk.length;
      if (burst >= BURST_BYTES) socket.pause();
    });
    let closed = false;
    socket.once('close', () => (closed = true));
    const complete = () => {
      const headerEnd = head.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
      return headerEnd > 0 && received - headerEnd - 4 >= length;
    };
    const started = Date.now();
    try {
      // 100 KB every 60 ms at most (under 2 MB/s): past what the kernels' buffers hold, the answer
      // leaves the server's memory more slowly than one write timeout, yet never stops for one.
      while (!complete() && !closed && Date.now() - started < 30_000) {
        await new Promise((r) => setTimeout(r, 50));
        burst = 0;
        socket.resume();
        await new Promise((r) => setTimeout(r, 10));
        socket.pause();
      }
      const ms = Date.now() - started;
      // eslint-disable-next-line no-console
      console.log(`slow reader: ${received} bytes in ${ms} ms, ${complete() ? 'whole' : 'cut off'}`);
      expect(complete()).toBe(true);
      expect(ms).toBeGreaterThan(WRITE_TIMEOUT_MS);
    } finally {
      socket.destroy();
    }
  }, 60_000);
});
