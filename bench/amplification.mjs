// What one small query can make the server build: 50 aliased pages of 100 full-length messages.
//   npm run build && node bench/amplification.mjs
// Starts dist/main.js on a free port with a conversation of 100 messages of 100,000 characters,
// then times the query, the size of its answer, and a small request made meanwhile. Prints figures.
import { startBenchServer } from './server.mjs';

const ALIASES = Number(process.env.ALIASES ?? 50);
const { child, url, log } = await startBenchServer();

async function post(query, variables, token) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, bytes: text.length, body: text.length < 10_000 ? JSON.parse(text) : null };
}
const signUp = async (name) =>
  (
    await post('mutation($u: String!) { signUp(username: $u, password: "password-1") { token user { id } } }', {
      u: name,
    })
  ).body.data.signUp;

try {
  const suffix = Date.now().toString(36);
  const alice = await signUp(`amp_a_${suffix}`);
  const bob = await signUp(`amp_b_${suffix}`);
  const c = (
    await post(
      'mutation($m: [ID!]!) { createGroup(title: "big", memberIds: $m) { id } }',
      { m: [bob.user.id] },
      alice.token,
    )
  ).body.data.createGroup.id;
  const content = 'x'.repeat(100_000);
  for (let i = 0; i < 100; i++) {
    await post(
      'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { id } }',
      { c, t: content },
      alice.token,
    );
  }
  const aliases = Array.from(
    { length: ALIASES },
    (_, i) => `p${i}: messages(conversationId: $c, last: 100) { edges { node { content } } }`,
  );
  const query = `query($c: ID!) { ${aliases.join(' ')} }`;
  const started = performance.now();
  const probe = (async () => {
    await new Promise((r) => setTimeout(r, 50));
    const t = performance.now();
    await post('{ me { id } }', {}, bob.token);
    return performance.now() - t;
  })().catch(() => null);
  const answer = await post(query, { c }, alice.token).catch((error) => ({
    failed: error.cause?.code ?? error.message,
  }));
  const ms = performance.now() - started;
  console.log(
    `query: ${(query.length / 1024).toFixed(1)} KB, ${ALIASES} aliased pages of 100 messages of 100,000 characters`,
  );
  if ('failed' in answer) {
    await new Promise((r) => setTimeout(r, 200));
    const state = child.exitCode === null ? 'still running' : `exited with ${child.exitCode}`;
    console.log(`answer: none (${answer.failed}) after ${ms.toFixed(0)} ms; the server is ${state}`);
  } else {
    const code = answer.body?.errors?.[0]?.extensions?.code ?? 'none';
    console.log(
      `answer: HTTP ${answer.status}, ${(answer.bytes / 1e6).toFixed(1)} MB, error code ${code}, in ${ms.toFixed(0)} ms`,
    );
  }
  const probed = await probe;
  console.log(`a small request sent meanwhile (me { id }): ${probed === null ? 'failed' : `${probed.toFixed(0)} ms`}`);
  console.log(
    `server: ${
      log()
        .split('\n')
        .filter((l) => / (error|warn) /.test(l))
        .slice(0, 2)
        .join(' | ')
        .slice(0, 300) || 'nothing logged at warn or error'
    }`,
  );
} finally {
  child.kill('SIGTERM');
}
