// Throughput and end-to-end latency of sendMessage -> messageAdded on the embedded default.
//   npm run bench   (builds, starts dist/main.js on a free port, prints figures, stops it)
// Options by environment: SENDERS (default 20), MESSAGES per sender (50), LISTENERS per member (2).
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { postGraphql, startBenchServer } from './server.mjs';

const SENDERS = Number(process.env.SENDERS ?? 20);
const MESSAGES = Number(process.env.MESSAGES ?? 50);
const LISTENERS = Number(process.env.LISTENERS ?? 2);

const { child, url, wsUrl } = await startBenchServer({
  nodeArgs: process.env.PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [],
});

const gql = (query, variables, token) => postGraphql(url, query, variables, token);
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

try {
  const users = [];
  for (let i = 0; i < SENDERS; i++) {
    const d = await gql(
      'mutation($u: String!) { signUp(username: $u, password: "bench-password") { token user { id } } }',
      { u: `bench_${process.pid}_${i}` },
    );
    users.push({ token: d.signUp.token, id: d.signUp.user.id });
  }
  const { createGroup } = await gql(
    'mutation($m: [ID!]!) { createGroup(title: "bench", memberIds: $m) { id } }',
    { m: users.slice(1).map((u) => u.id) },
    users[0].token,
  );
  const total = SENDERS * MESSAGES;
  const sentAt = new Map();
  const latencies = [];
  let received = 0;
  let expected = Infinity;
  let allReceived;
  const done = new Promise((r) => (allReceived = r));
  const clients = [];
  for (const user of users) {
    for (let l = 0; l < LISTENERS; l++) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${user.token}` },
      });
      clients.push(client);
      client.subscribe(
        { query: 'subscription { messageAdded { id content } }' },
        {
          next: ({ data }) => {
            const t = sentAt.get(data.messageAdded.content);
            if (t !== undefined) latencies.push(performance.now() - t);
            if (++received === expected) allReceived();
          },
          error: (e) => console.error(e),
          complete: () => {},
        },
      );
    }
  }
  await new Promise((r) => setTimeout(r, 1000));
  // Warm-up, not measured: JIT and connection pools settle first.
  const WARMUP = 5;
  await Promise.all(
    users.map(async (user, u) => {
      for (let i = 0; i < WARMUP; i++) {
        await gql(
          'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { id } }',
          { c: createGroup.id, t: `warm ${u}:${i}` },
          user.token,
        );
      }
    }),
  );
  expected = (total + WARMUP * SENDERS) * users.length * LISTENERS;
  while (received < WARMUP * SENDERS * users.length * LISTENERS) await new Promise((r) => setTimeout(r, 10));
  const start = performance.now();
  const sendLatencies = [];
  await Promise.all(
    users.map(async (user, u) => {
      for (let i = 0; i < MESSAGES; i++) {
        const content = `${u}:${i}`;
        const t = performance.now();
        sentAt.set(content, t);
        await gql(
          'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { id } }',
          { c: createGroup.id, t: content },
          user.token,
        );
        sendLatencies.push(performance.now() - t);
      }
    }),
  );
  const sendSeconds = (performance.now() - start) / 1000;
  await done;
  const allSeconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  sendLatencies.sort((a, b) => a - b);
  const deliveries = total * users.length * LISTENERS;
  console.log(
    `embedded default, ${SENDERS} concurrent senders x ${MESSAGES} messages into one group of ${SENDERS}, ${LISTENERS} connections per member`,
  );
  console.log(
    `sendMessage: ${(total / sendSeconds).toFixed(0)} msg/s; latency p50 ${pct(sendLatencies, 50).toFixed(1)} ms, p99 ${pct(sendLatencies, 99).toFixed(1)} ms`,
  );
  console.log(
    `delivery: ${deliveries} deliveries in ${allSeconds.toFixed(2)} s (${(deliveries / allSeconds).toFixed(0)}/s); send->receive p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms`,
  );
  await Promise.all(clients.map((c) => c.dispose()));
} finally {
  child.kill('SIGTERM');
}
