// Fan-out benchmark: one group of M members, each with one connection and one live subscription; S
// senders. Runs the project (dist/main.js: the embedded default, or with REDIS_URL two processes on that
// Redis with members and senders spread over both) and, with --peers, a Socket.IO + redis-adapter server
// and a raw ws + ioredis server on the same scenario, one after the other in one run.
//
//   npm run bench                                  embedded default, peers beside it
//   REDIS_URL=redis://127.0.0.1:6379 npm run bench two processes on Redis, peers on the same Redis; the
//                                                  processes share MONGODB_URI, else a private FerretDB
//                                                  from .tools (bash scripts/install-ferretdb.sh)
//   node bench/fanout.mjs --members 100 --senders 10 --seconds 5 --idle 10000 --no-peers
//
// Figures per target: server CPU ms per 1,000 deliveries at peak (closed loop; the sum over the server
// processes, from /proc), deliveries/s at peak (bounded by this driver, which shares the cores), latency
// send -> receive at peak and at a fixed rate (half the project's peak unless --rate), and for the project
// the memory of --idle idle authenticated connections holding one messageAdded each (RSS and heap after a
// full GC, per connection) with the worst /healthz answer while they connect.
//
// Every delivery is counted by (message, member): after the last send was acknowledged the driver waits for
// the deliveries still in flight (until all have arrived, or none arrived for --drain-ms) before counting.
// `lost`: deliveries of an acknowledged message that never arrived; `late`: arrived, but more than --late-ms
// after the last send was acknowledged; subscriptions that the server ended or closed are named with their
// code. The process exits with 1 when any scenario lost a delivery.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { cpuMs, freePort, memoryAfterGc, postGraphql, startBenchServer } from './server.mjs';

const flags = process.argv.slice(2);
const option = (name, fallback) => {
  const i = flags.indexOf(`--${name}`);
  return i >= 0 ? flags[i + 1] : fallback;
};
const M = Number(option('members', 100));
const S = Number(option('senders', 10));
const SECONDS = Number(option('seconds', 5));
const IDLE = Number(option('idle', 2000));
const FIXED_RATE = option('rate') === undefined ? null : Number(option('rate'));
const PEERS = !flags.includes('--no-peers');
// A quiet period with no delivery that ends the wait for those still in flight, and the longest wait.
const DRAIN_MS = Number(option('drain-ms', 3000));
const MAX_DRAIN_MS = 60_000;
const LATE_MS = Number(option('late-ms', 1000));
const REDIS_URL = process.env.REDIS_URL;
// A Redis Cluster instead (bench/scaling.mjs starts one): the project's processes get REDIS_CLUSTER_NODES.
const REDIS_CLUSTER_NODES = process.env.REDIS_CLUSTER_NODES;
// Redis server pids whose CPU is reported beside the project's (per 1,000 deliveries), when given.
const REDIS_PIDS = (process.env.BENCH_REDIS_PIDS ?? '').split(',').filter(Boolean).map(Number);
const PROCESSES = REDIS_URL || REDIS_CLUSTER_NODES ? Number(option('processes', 2)) : 1;
const content = 'x'.repeat(80);

const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A node or redis-server child that prints `ready: <port>` (or, for Redis, accepts connections). */
async function startChild(command, args, env = {}, ready = /ready: (\d+)/) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve({ child, port: m[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${command} exited (${code}): ${out}`)));
  });
}

async function privateRedis() {
  const port = await freePort();
  await startChild(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {},
    /Ready to accept/,
  );
  return `redis://127.0.0.1:${port}`;
}

async function privateFerretDB() {
  const bin = new URL('../.tools/bin/ferretdb', import.meta.url).pathname;
  if (!existsSync(bin))
    throw new Error('two processes need a shared store: set MONGODB_URI, or run bash scripts/install-ferretdb.sh');
  const [port, debugPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'bench-ferretdb-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const args = [`--listen-addr=127.0.0.1:${port}`, `--debug-addr=127.0.0.1:${debugPort}`, '--handler=sqlite'];
  args.push(`--sqlite-url=file:${dir}/`, `--state-dir=${dir}`, '--telemetry=disable', '--log-level=INFO');
  await startChild(bin, args, {}, /Listening on|listening/i);
  return `mongodb://127.0.0.1:${port}/bench`;
}

const post = postGraphql;

/** `n` users signed up through `url`, 25 at a time. */
async function signUpMany(url, n) {
  const tag = Math.random().toString(36).slice(2, 8);
  const users = [];
  for (let i = 0; i < n; i += 25) {
    const batch = Array.from({ length: Math.min(25, n - i) }, (_, j) =>
      post(url, 'mutation($u: String!) { signUp(username: $u, password: "bench password") { token user { id } } }', {
        u: `f${i + j}_${tag}`,
      }).then((d) => ({ token: d.signUp.token, id: d.signUp.user.id })),
    );
    users.push(...(await Promise.all(batch)));
  }
  return users;
}

function graphqlClient(wsUrl, token, onConnected, onClosed) {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
    on: { connected: onConnected, closed: onClosed },
  });
}

/** The project's processes: their URLs and pids. */
async function startProject(redisUrl) {
  const env = {};
  if (redisUrl || REDIS_CLUSTER_NODES) {
    if (REDIS_CLUSTER_NODES) env.REDIS_CLUSTER_NODES = REDIS_CLUSTER_NODES;
    else env.REDIS_URL = redisUrl;
    // Processes share users and history through one store; a single process may keep them in memory.
    if (PROCESSES > 1 || process.env.MONGODB_URI)
      env.MONGODB_URI = process.env.MONGODB_URI ?? (await privateFerretDB());
  }
  const servers = [];
  for (let i = 0; i < PROCESSES; i++) {
    servers.push(await startBenchServer({ nodeArgs: ['--inspect=127.0.0.1:0'], env }));
  }
  children.push(...servers.map((s) => s.child));
  return servers;
}

const SEND = 'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { id } }';

/**
 * Rigs: connect every member, then `send(i, text)` sends as sender i; member m's deliveries call
 * `onDeliver(m, text)`, and a member whose subscription or connection ends calls `onEnded(m, why)`.
 */
const rigs = {
  async graphql({ servers, sendOver }, onDeliver, onEnded) {
    const users = await signUpMany(servers[0].url, M);
    const group = await post(
      servers[0].url,
      'mutation($m: [ID!]!) { createGroup(title: "bench", memberIds: $m) { id } }',
      { m: users.slice(1).map((u) => u.id) },
      users[0].token,
    );
    const at = (i) => servers[i % servers.length];
    let closing = false;
    const clients = await Promise.all(
      users.map(
        (u, i) =>
          new Promise((resolve, reject) => {
            let connected = false;
            const client = graphqlClient(
              at(i).wsUrl,
              u.token,
              () => {
                connected = true;
                resolve(client);
              },
              (e) => (connected ? !closing && onEnded(i, `closed ${e?.code}`) : reject(new Error(`closed ${e?.code}`))),
            );
            client.subscribe(
              { query: 'subscription { messageAdded { content } }' },
              {
                next: (r) =>
                  r.data ? onDeliver(i, r.data.messageAdded.content) : onEnded(i, JSON.stringify(r.errors)),
                error: (e) => !closing && onEnded(i, `error ${e?.code ?? JSON.stringify(e)}`),
                complete: () => !closing && onEnded(i, 'completed'),
              },
            );
          }),
      ),
    );
    await sleep(500);
    const variables = (text) => ({ c: group.createGroup.id, t: text });
    const send =
      sendOver === 'ws'
        ? (i, text) =>
            new Promise((resolve, reject) =>
              clients[i].subscribe(
                { query: SEND, variables: variables(text) },
                { next: () => {}, error: reject, complete: resolve },
              ),
            )
        : (i, text) => post(at(i).url, SEND, variables(text), users[i].token);
    return {
      send,
      close: () => {
        closing = true;
        return Promise.all(clients.map((c) => c.dispose()));
      },
    };
  },

  async socketio({ urls }, onDeliver, onEnded) {
    const { io } = await import('socket.io-client');
    const sockets = Array.from({ length: M }, (_, i) => {
      const socket = io(urls[i % urls.length], { transports: ['websocket'], auth: { user: `u${i}`, group: 'g' } });
      socket.on('message', (m) => onDeliver(i, m.content));
      socket.on('disconnect', (why) => why !== 'io client disconnect' && onEnded(i, why));
      return socket;
    });
    await Promise.all(sockets.map((s) => new Promise((r) => (s.connected ? r() : s.once('connect', r)))));
    await sleep(500);
    return {
      send: (i, text) => sockets[i].timeout(10_000).emitWithAck('send', { content: text }),
      close: async () => sockets.forEach((s) => s.close()),
    };
  },

  async ws({ urls }, onDeliver, onEnded) {
    const sockets = await Promise.all(
      Array.from({ length: M }, async (_, i) => {
        const socket = new WebSocket(`${urls[i % urls.length]}?user=u${i}&group=g`, { perMessageDeflate: false });
        const waiting = new Map();
        let ref = 0;
        socket.on('message', (data) => {
          const m = JSON.parse(data);
          if (m.ack !== undefined) {
            waiting.get(m.ack)?.();
            waiting.delete(m.ack);
          } else onDeliver(i, m.content);
        });
        socket.on('close', (code) => code !== 1005 && code !== 1000 && onEnded(i, `closed ${code}`));
        await new Promise((r) => socket.once('open', r));
        return { socket, waiting, next: () => ++ref };
      }),
    );
    await sleep(500);
    return {
      send: (i, text) =>
        new Promise((resolve) => {
          const s = sockets[i];
          const ref = s.next();
          s.waiting.set(ref, resolve);
          s.socket.send(JSON.stringify({ ref, content: text }));
        }),
      close: async () => sockets.forEach((s) => s.socket.close()),
    };
  },
};

/** One measured run: closed loop (rate 0) or `rate` messages/s in all. */
async function measure(rig, pids, rate, received) {
  const run = received.reset();
  let sent = 0;
  let failed = 0;
  let lastAck = 0;
  const over = () => now() - start > SECONDS * 1000;
  const one = async (i) => {
    const k = next++;
    try {
      await rig.send(i % S, `${now().toFixed(3)}|${run}.${k}|${content}`);
      received.acknowledged.add(k);
      sent++;
    } catch {
      failed++;
    }
    lastAck = now();
  };
  let next = 0;
  // What Redis spends with nobody sending (presence, leases, discovery, rate limits, cluster gossip), per
  // second: subtracted from what it spends under load, it leaves the cost of the deliveries themselves.
  let redisIdlePerSec = 0;
  if (REDIS_PIDS.length > 0) {
    const [r0, t0] = [cpuMs(REDIS_PIDS), now()];
    await sleep(2000);
    redisIdlePerSec = (cpuMs(REDIS_PIDS) - r0) / ((now() - t0) / 1000);
  }
  const start = now();
  const cpu0 = cpuMs(pids);
  const redisCpu0 = cpuMs(REDIS_PIDS);
  if (rate === 0) {
    await Promise.all(
      Array.from({ length: S }, async (_, i) => {
        while (!over()) await one(i);
      }),
    );
  } else {
    const inflight = [];
    for (let k = 0; !over(); ) {
      const due = Math.floor(((now() - start) / 1000) * rate);
      for (; k < due; k++) inflight.push(one(k));
      await sleep(2);
    }
    await Promise.all(inflight);
  }
  const expected = sent * M;
  // The deliveries still in flight: until all have arrived, or none arrived for DRAIN_MS.
  const sendsDone = now();
  while (received.expectedCount() < expected && now() - sendsDone < MAX_DRAIN_MS) {
    if (now() - Math.max(received.last, sendsDone) > DRAIN_MS) break;
    await sleep(20);
  }
  const cpu = cpuMs(pids) - cpu0;
  const redisCpu = cpuMs(REDIS_PIDS) - redisCpu0;
  const redisMarginal = redisCpu - redisIdlePerSec * ((now() - start) / 1000);
  const lat = received.latencies.sort((a, b) => a - b);
  const pct = (p) =>
    lat.length ? Number(lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))].toFixed(1)) : null;
  return {
    sent,
    failed,
    delivered: received.count,
    lost: expected - received.expectedCount(),
    late: received.lateAfter(lastAck + LATE_MS),
    duplicates: received.duplicates,
    // Delivered, though their send failed (the message was stored, its answer lost).
    unacknowledged: received.count - received.expectedCount() - received.duplicates - received.stray,
    ended: received.ended.splice(0),
    sendsPerSec: Math.round(sent / ((now() - start) / 1000)),
    deliveriesPerSec: Math.round(received.count / ((received.last - start) / 1000)),
    cpuMsPer1k: Number(((cpu / Math.max(1, received.count)) * 1000).toFixed(2)),
    redisCpuMsPer1k: Number(((redisCpu / Math.max(1, received.count)) * 1000).toFixed(2)),
    redisMarginalMsPer1k: Number(((redisMarginal / Math.max(1, received.count)) * 1000).toFixed(2)),
    p50: pct(50),
    p99: pct(99),
  };
}

/**
 * Counts deliveries per run by (message, member): a text is `<sent at>|<run>.<message>|<padding>`.
 * Deliveries of an earlier run (still arriving) are stray, a second copy of a message is a duplicate.
 */
function receiver() {
  let run = 0;
  /** Per member: the messages of this run it received, and when. */
  let got = [];
  const state = {
    count: 0,
    last: 0,
    latencies: [],
    duplicates: 0,
    stray: 0,
    /** The messages of this run whose send was acknowledged. */
    acknowledged: new Set(),
    /** Members whose subscription ended during the run, with why. */
    ended: [],
    reset() {
      Object.assign(state, { count: 0, last: 0, latencies: [], duplicates: 0, stray: 0 });
      state.acknowledged = new Set();
      got = Array.from({ length: M }, () => new Map());
      return ++run;
    },
    /** Deliveries of acknowledged messages, one per message and member. */
    expectedCount() {
      let n = 0;
      for (const mine of got) for (const k of mine.keys()) if (state.acknowledged.has(k)) n++;
      return n;
    },
    /** Deliveries that arrived after `t`. */
    lateAfter(t) {
      let n = 0;
      for (const mine of got) for (const at of mine.values()) if (at > t) n++;
      return n;
    },
  };
  const onDeliver = (member, text) => {
    const t = now();
    const [sentAt, tag] = text.split('|');
    const [r, k] = tag.split('.').map(Number);
    state.count++;
    if (r !== run) return void state.stray++;
    if (got[member].has(k)) return void state.duplicates++;
    got[member].set(k, t);
    state.last = t;
    state.latencies.push(t - parseFloat(sentAt));
  };
  const onEnded = (member, why) => {
    state.ended.push(`member ${member}: ${why}`);
    say(`member ${member}'s subscription ended: ${why}`);
  };
  return { state, onDeliver, onEnded };
}

async function runTarget(name, setup, pids) {
  const { state, onDeliver, onEnded } = receiver();
  say(`${name}: connecting ${M} members`);
  const rig = await rigs[name](setup, onDeliver, onEnded);
  say(`${name}: warm-up, then peak`);
  const warmUp = await measure(rig, pids, 0, state); // warm-up: JIT and connections
  const peak = await measure(rig, pids, 0, state);
  return { rig, state, peak, warmUp };
}

/** `n` idle connections with one messageAdded each, spread over the processes; memory per connection. */
async function idleMemory(servers, n) {
  const users = await signUpMany(servers[0].url, Math.min(100, n));
  const before = await Promise.all(servers.map(memoryAfterGc));
  let worst = 0;
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const t = now();
      await fetch(`${servers[0].url.replace(/\/graphql$/, '')}/healthz`);
      worst = Math.max(worst, now() - t);
      await sleep(50);
    }
  })();
  const clients = [];
  const started = now();
  for (let i = 0; i < n; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, n - i) }, (_, j) => {
        const k = i + j;
        const server = servers[k % servers.length];
        const user = users[k % users.length];
        return new Promise((resolve, reject) => {
          const client = graphqlClient(server.wsUrl, user.token, resolve, (e) =>
            reject(new Error(`closed ${e?.code}`)),
          );
          clients.push(client);
          client.subscribe(
            { query: 'subscription { messageAdded { id content } }' },
            { next() {}, error() {}, complete() {} },
          );
        });
      }),
    );
  }
  const connectSeconds = (now() - started) / 1000;
  await sleep(1000);
  probing = false;
  await probe;
  const after = await Promise.all(servers.map(memoryAfterGc));
  const sum = (list, key) => list.reduce((a, m) => a + m[key], 0);
  const per = (key) => Number(((sum(after, key) - sum(before, key)) / n / 1024).toFixed(1));
  await Promise.all(clients.map((c) => c.dispose()));
  return {
    connections: n,
    rssKB: per('rss'),
    heapKB: per('heapUsed'),
    connectSeconds: Number(connectSeconds.toFixed(1)),
    worstHealthzMs: Number(worst.toFixed(1)),
  };
}

const say = (line) => process.stderr.write(`${line}\n`);
const results = [];
const mode = REDIS_CLUSTER_NODES
  ? `REDIS_CLUSTER_NODES, ${PROCESSES} processes`
  : REDIS_URL
    ? `REDIS_URL, ${PROCESSES} processes`
    : 'embedded default';
const peersRedis = PEERS ? (REDIS_URL ?? (await privateRedis())) : null;

say(`starting the project (${mode})`);
const servers = await startProject(REDIS_URL);
const projectPids = servers.map((s) => s.child.pid);
const setup = { servers, sendOver: 'http' };
const project = await runTarget('graphql', setup, projectPids);
const rate = FIXED_RATE ?? Math.max(10, Math.round(project.peak.sendsPerSec / 2));
const projectFixed = await measure(project.rig, projectPids, rate, project.state);
await project.rig.close();
results.push({
  target: `project (${mode}, sends over HTTP)`,
  warmUp: project.warmUp,
  peak: project.peak,
  fixed: projectFixed,
});
const overWs = await runTarget('graphql', { servers, sendOver: 'ws' }, projectPids);
const overWsFixed = await measure(overWs.rig, projectPids, rate, overWs.state);
await overWs.rig.close();
results.push({
  target: `project (${mode}, sends over graphql-ws)`,
  warmUp: overWs.warmUp,
  peak: overWs.peak,
  fixed: overWsFixed,
});
const idle = IDLE > 0 ? await idleMemory(servers, IDLE) : null;
servers.forEach((s) => s.child.kill('SIGTERM'));

if (PEERS) {
  for (const [name, file] of [
    ['socketio', 'socketio.mjs'],
    ['ws', 'ws.mjs'],
  ]) {
    const peers = [];
    for (let i = 0; i < PROCESSES; i++) {
      const path = new URL(`./peers/${file}`, import.meta.url).pathname;
      peers.push(await startChild(process.execPath, [path], { PORT: '0', REDIS_URL: peersRedis }));
    }
    const scheme = name === 'ws' ? 'ws' : 'http';
    const urls = peers.map((p) => `${scheme}://127.0.0.1:${p.port}`);
    const pids = peers.map((p) => p.child.pid);
    const target = await runTarget(name, { urls }, pids);
    const fixed = await measure(target.rig, pids, rate, target.state);
    await target.rig.close();
    peers.forEach((p) => p.child.kill('SIGTERM'));
    results.push({
      target: name === 'socketio' ? 'Socket.IO + redis-adapter' : 'raw ws + ioredis',
      warmUp: target.warmUp,
      peak: target.peak,
      fixed,
    });
  }
}

const socketio = results.find((r) => r.target.startsWith('Socket.IO'));
console.log(
  `\nfan-out: 1 group of ${M} members, ${S} closed-loop senders, ${SECONDS} s per figure; fixed rate ${rate} msg/s (${rate * M} deliveries/s)`,
);
console.log(
  'target | CPU ms / 1k deliveries (peak) | vs Socket.IO | deliveries/s (peak) | vs Socket.IO | p50 / p99 ms (peak) | p50 / p99 ms (fixed rate) | lost (warm-up, peak, fixed) | late',
);
const ratio = (a, b) => (socketio ? `${(a / b).toFixed(2)}x` : '-');
const runs = (r, key) => `${r.warmUp[key]}, ${r.peak[key]}, ${r.fixed[key]}`;
for (const r of results) {
  const cost = ratio(r.peak.cpuMsPer1k, socketio?.peak.cpuMsPer1k);
  const speed = ratio(r.peak.deliveriesPerSec, socketio?.peak.deliveriesPerSec);
  console.log(
    `${r.target} | ${r.peak.cpuMsPer1k} | ${cost} | ${r.peak.deliveriesPerSec} | ${speed} | ${r.peak.p50} / ${r.peak.p99} | ${r.fixed.p50} / ${r.fixed.p99} | ${runs(r, 'lost')} | ${runs(r, 'late')}`,
  );
  for (const run of [r.warmUp, r.peak, r.fixed]) {
    if (run.ended.length > 0) console.log(`  ended during the run: ${run.ended.join('; ')}`);
    if (run.duplicates + run.unacknowledged > 0)
      console.log(`  duplicates ${run.duplicates}, delivered though their send failed ${run.unacknowledged}`);
  }
}
if (idle) {
  console.log(
    `\nidle: ${idle.connections} authenticated connections with one messageAdded each (${mode}): ${idle.rssKB} KB RSS and ${idle.heapKB} KB heap per connection after GC; connected in ${idle.connectSeconds} s, slowest /healthz meanwhile ${idle.worstHealthzMs} ms`,
  );
}
console.log(`\n${JSON.stringify(results)}`);
const lost = results.reduce((n, r) => n + r.warmUp.lost + r.peak.lost + r.fixed.lost, 0);
if (lost > 0) console.log(`\nLOST ${lost} deliveries`);
process.exit(lost > 0 ? 1 : 0);
