// Many idle authenticated connections on one server process (dist/main.js, embedded default): each speaks
// graphql-ws and holds one messageAdded subscription. Prints the connect rate, RSS and heap (after a full GC)
// per connection, /healthz p50/p99/max while connecting, and the latency of messages to a group of 100
// connected users once all are connected.
//
//   npm run build && ulimit -n 110000 && node bench/connections.mjs --connections 100000 --drivers 5
//
// The server holds one file descriptor per connection, so `ulimit -n` must exceed the count (raising it past
// the hard limit needs root or CAP_SYS_RESOURCE); with a lower limit the bench says so and connects as many as
// the limit allows. Connections are opened by --drivers child processes (each under the same limit), from the
// source addresses 127.0.0.2 to 127.0.0.(1 + --addresses) in turn, since one address has only the ephemeral
// ports of ip_local_port_range. Users are signed up through the API, 100 connections each
// (MAX_CONNECTIONS_PER_USER's default): 1,000 sign-ups for 100,000 connections. The group's 100 members are
// 100 more users with one connection each, held by this process. MAX_CONNECTIONS_PER_ADDRESS is raised for
// the bench (every connection comes from 127.0.0.x).
import { execFileSync, fork } from 'node:child_process';
import WebSocket from 'ws';
import { memoryAfterGc, postGraphql, startBenchServer } from './server.mjs';

const flags = process.argv.slice(2);
const option = (name, fallback) => {
  const i = flags.indexOf(`--${name}`);
  return i >= 0 ? flags[i + 1] : fallback;
};
const PER_USER = 100;
const GROUP = 100;
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (line) => process.stderr.write(`${line}\n`);
const SUBSCRIBE = 'subscription { messageAdded { id content } }';

/** One graphql-ws connection with one messageAdded subscription; resolves once the subscribe is sent. */
function connect(url, token, localAddress, onNext) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false, localAddress });
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    );
    socket.on('message', (data) => {
      const message = JSON.parse(data);
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIBE } }));
        resolve(socket);
      } else if (message.type === 'next') onNext?.(message.payload);
      else if (message.type === 'ping') socket.send(JSON.stringify({ type: 'pong' }));
    });
    socket.on('error', reject);
    socket.on('close', (code) => reject(new Error(`closed ${code}`)));
  });
}

async function signUpMany(url, n, prefix) {
  const tag = Math.random().toString(36).slice(2, 7);
  const users = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, (_, j) =>
      postGraphql(
        url,
        'mutation($u: String!) { signUp(username: $u, password: "bench password") { token user { id } } }',
        {
          u: `${prefix}${i + j}_${tag}`,
        },
      ).then((d) => ({ token: d.signUp.token, id: d.signUp.user.id })),
    );
    users.push(...(await Promise.all(batch)));
  }
  return users;
}

const percentile = (sorted, p) =>
  sorted.length ? Number(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(1)) : null;

async function main() {
  const wanted = Number(option('connections', 100_000));
  const drivers = Number(option('drivers', Math.max(1, Math.ceil(wanted / 18_000))));
  const addresses = Array.from({ length: Number(option('addresses', 8)) }, (_, i) => `127.0.0.${2 + i}`);
  const fdLimit = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
  const hardLimit = execFileSync('sh', ['-c', 'ulimit -Hn']).toString().trim();
  // The server's own descriptors (listening socket, inspector, store files, ...) and the group's connections.
  const fits = fdLimit - 300 - GROUP;
  const idle = Math.min(wanted - GROUP, fits);
  if (idle < wanted - GROUP)
    say(
      `ulimit -n is ${fdLimit} (hard limit ${hardLimit}): the server can hold about ${fits + GROUP} connections, ` +
        `not ${wanted}. Raise it (ulimit -n ${wanted + 1000}, as a user allowed to) for the full count.`,
    );
  if (Math.ceil(idle / drivers) > fdLimit - 100)
    say(`each driver would need more than ${fdLimit} descriptors: add --drivers`);

  const server = await startBenchServer({
    nodeArgs: ['--inspect=127.0.0.1:0'],
    env: {
      LOG_LEVEL: 'info',
      MAX_CONNECTIONS_PER_ADDRESS: '10000000',
      AUTH_RATE_PER_SECOND: '100000',
    },
  });
  process.on('exit', () => server.child.kill('SIGKILL'));
  const healthz = `${server.url.replace(/\/graphql$/, '')}/healthz`;
  say(`signing up ${Math.ceil(idle / PER_USER)} users for ${idle} idle connections, and ${GROUP} group members`);
  const t0 = now();
  const idleUsers = await signUpMany(server.url, Math.ceil(idle / PER_USER), 'c');
  const members = await signUpMany(server.url, GROUP, 'g');
  const signUpSeconds = (now() - t0) / 1000;
  const group = await postGraphql(
    server.url,
    'mutation($m: [ID!]!) { createGroup(title: "bench", memberIds: $m) { id } }',
    { m: members.slice(1).map((u) => u.id) },
    members[0].token,
  );
  const before = await memoryAfterGc(server);

  // /healthz while connecting.
  const probes = [];
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const t = now();
      await fetch(healthz).then((r) => r.arrayBuffer());
      probes.push(now() - t);
      await sleep(20);
    }
  })();

  say(`connecting ${idle} idle connections from ${drivers} driver processes over ${addresses.length} addresses`);
  const started = now();
  const perDriver = Math.ceil(idle / drivers / PER_USER) * PER_USER;
  const progress = [];
  const results = await Promise.all(
    Array.from({ length: drivers }, (_, d) => {
      const offset = d * perDriver;
      const count = Math.max(0, Math.min(perDriver, idle - offset));
      const child = fork(new URL(import.meta.url).pathname, ['--driver'], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      process.on('exit', () => child.kill('SIGKILL'));
      const tokens = idleUsers.slice(offset / PER_USER, (offset + count) / PER_USER + 1).map((u) => u.token);
      child.send({ url: server.wsUrl, tokens, count, addresses, offset });
      return new Promise((resolve) =>
        child.on('message', (m) => {
          progress[d] = m;
          if (m.done) resolve({ child, ...m });
        }),
      );
    }),
  );
  const connectSeconds = (now() - started) / 1000;
  const connected = results.reduce((n, r) => n + r.connected, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  probing = false;
  await probe;
  const sortedProbes = probes.sort((a, b) => a - b);
  for (const r of results) if (r.errors.length) say(`driver errors: ${JSON.stringify(r.errors)}`);

  // The group of 100, one connection each, among the connected.
  const latencies = [];
  const memberSockets = await Promise.all(
    members.map((u, i) =>
      connect(server.wsUrl, u.token, addresses[i % addresses.length], (payload) => {
        const content = payload.data?.messageAdded?.content;
        if (content) latencies.push(now() - parseFloat(content));
      }),
    ),
  );
  await sleep(3000);
  const after = await memoryAfterGc(server);
  const total = connected + memberSockets.length;
  const per = (key) => Number(((after[key] - before[key]) / total / 1024).toFixed(1));

  const messages = Number(option('messages', 100));
  say(`sending ${messages} messages to the group, 10 a second`);
  const sends = [];
  for (let k = 0; k < messages; k++) {
    sends.push(
      postGraphql(
        server.url,
        'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { id } }',
        { c: group.createGroup.id, t: `${now().toFixed(3)}|${k}` },
        members[k % GROUP].token,
      ),
    );
    await sleep(100);
  }
  await Promise.all(sends);
  for (const t = now(); latencies.length < messages * GROUP && now() - t < 10_000; ) await sleep(20);
  const sorted = latencies.sort((a, b) => a - b);

  const result = {
    requested: wanted,
    connections: total,
    failed,
    fdLimit,
    signUpSeconds: Number(signUpSeconds.toFixed(1)),
    connectSeconds: Number(connectSeconds.toFixed(1)),
    connectsPerSecond: Math.round(connected / connectSeconds),
    rssKBPerConnection: per('rss'),
    heapKBPerConnection: per('heapUsed'),
    serverRssMB: Math.round(after.rss / 1024 / 1024),
    healthzMs: {
      p50: percentile(sortedProbes, 50),
      p99: percentile(sortedProbes, 99),
      max: percentile(sortedProbes, 100),
    },
    group: {
      messages,
      deliveries: sorted.length,
      expected: messages * GROUP,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
    },
  };
  console.log(
    `\n${total} idle authenticated connections (one messageAdded each) on one process: connected at ${result.connectsPerSecond}/s ` +
      `(${result.connectSeconds} s, ${failed} failed), ${result.rssKBPerConnection} KB RSS and ${result.heapKBPerConnection} KB heap ` +
      `per connection after GC (server RSS ${result.serverRssMB} MB); /healthz while connecting p50 ${result.healthzMs.p50} ms, ` +
      `p99 ${result.healthzMs.p99} ms, max ${result.healthzMs.max} ms; a group of ${GROUP}: ${sorted.length} of ${messages * GROUP} ` +
      `deliveries, p50 ${result.group.p50} ms, p99 ${result.group.p99} ms`,
  );
  console.log(JSON.stringify(result));
  memberSockets.forEach((s) => s.terminate());
  results.forEach((r) => r.child.kill('SIGKILL'));
  server.child.kill('SIGKILL');
  process.exit(0);
}

// A driver: opens the connections it is told to, reports progress, holds them until told to stop.
if (flags.includes('--driver')) {
  const sockets = [];
  process.on('message', async ({ url, tokens, count, addresses, offset }) => {
    let connected = 0;
    let failed = 0;
    const errors = new Map();
    const report = setInterval(() => process.send({ connected, failed }), 250);
    let next = 0;
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        for (let k; (k = next++) < count; ) {
          const i = offset + k;
          try {
            const token = tokens[Math.floor(k / PER_USER)];
            sockets.push(await connect(url, token, addresses[i % addresses.length]));
            connected++;
          } catch (error) {
            failed++;
            errors.set(error.message, (errors.get(error.message) ?? 0) + 1);
          }
        }
      }),
    );
    clearInterval(report);
    process.send({ connected, failed, done: true, errors: [...errors].slice(0, 5) });
  });
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}
