// MLS delivery benchmark: application messages of an end-to-end encrypted group of M devices, next to plaintext
// messages of a group of M members, on the embedded default (dist/main.js as a child process, limits raised).
//
//   npm run build && flock /tmp/bench.lock node bench/mls.mjs [--members 100] [--senders 10] [--seconds 5]
//
// Setup: M users with one device (session) each, each uploading a KeyPackage; device 0 creates the MLS group,
// claims the others' KeyPackages and adds them all in one commit (a PublicMessage with the ratchet tree in the
// Welcome); every device joins from the Welcome delivered on its messageAdded subscription (one graphql-ws
// connection per device). Then S senders each loop "encrypt, sendMlsMessage over HTTP, wait for the answer" for
// --seconds (after a --warmup of the same), and the devices count deliveries (the sender's own device
// included, as in bench/fanout.mjs: M per message). The receivers do NOT decrypt while
// measuring (that would make this driver the bottleneck): --sample devices keep what they received and decrypt
// all of it afterwards, which must give every text sent. The plaintext run is the same with sendMessage in a
// group of the same M users (createGroup), on fresh connections.
//
// Figures: deliveries/s (bounded by this driver too, which shares the cores), server CPU ms per 1,000
// deliveries (/proc), and MLS over plaintext.
import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import * as mls from 'ts-mls';
import { cpuMs, postGraphql as post, startBenchServer } from './server.mjs';

const flags = process.argv.slice(2);
const option = (name, fallback) =>
  Number(flags.includes(`--${name}`) ? flags[flags.indexOf(`--${name}`) + 1] : fallback);
const M = option('members', 100);
const S = option('senders', 10);
const SECONDS = option('seconds', 5);
const WARMUP = option('warmup', 2);
const SAMPLE = option('sample', 3);
let serial = 0; // makes every text unique
const TEXT = 'x'.repeat(80); // the same 80 characters as bench/fanout.mjs, plus a unique prefix

const say = (line) => process.stderr.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const encode = (message) => b64(mls.encodeMlsMessage({ version: 'mls10', ...message }));
const decode = (text) => mls.decodeMlsMessage(new Uint8Array(Buffer.from(text, 'base64')), 0)[0];
const cs = await mls.getCiphersuiteImpl(mls.getCiphersuiteFromName('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'));

const server = await startBenchServer({ env: { GROUP_RATE_BURST: '100000', GROUP_RATE_PER_SECOND: '100000' } });
process.on('exit', () => server.child.kill('SIGKILL'));
const pid = server.child.pid;

/** Waits until `done()`, or fails naming `what`. */
async function until(done, what, ms = 60_000) {
  for (const deadline = now() + ms; !done(); await sleep(20))
    if (now() > deadline) throw new Error(`timed out: ${what}`);
}

/** In batches of 25 (signUp hashes a password). */
async function batched(n, make) {
  const out = [];
  for (let i = 0; i < n; i += 25)
    out.push(...(await Promise.all(Array.from({ length: Math.min(25, n - i) }, (_, j) => make(i + j)))));
  return out;
}

/** A KeyPackage (its public and private parts) with the BasicCredential identity `<userId>:<sessionId>`. */
function keyPackage(identity) {
  const t = BigInt(Math.floor(Date.now() / 1000));
  const lifetime = { notBefore: t - 3600n, notAfter: t + 86400n };
  const credential = { credentialType: 'basic', identity: Buffer.from(identity) };
  return mls.generateKeyPackage(credential, mls.defaultCapabilities(), lifetime, [], cs);
}

/** M devices: a user and session each, with a KeyPackage uploaded (its private part kept). */
async function devices() {
  const tag = randomBytes(3).toString('hex');
  const SIGN_UP =
    'mutation($u: String!) { signUp(username: $u, password: "password-123") { token user { id } session { id } } }';
  return batched(M, async (i) => {
    const { signUp } = await post(server.url, SIGN_UP, { u: `m${i}_${tag}` });
    const identity = `${signUp.user.id}:${signUp.session.id}`;
    const kp = await keyPackage(identity);
    const text = encode({ wireformat: 'mls_key_package', keyPackage: kp.publicPackage });
    await post(
      server.url,
      'mutation($k: [String!]!) { uploadKeyPackages(keyPackages: $k) }',
      { k: [text] },
      signUp.token,
    );
    return {
      i,
      id: signUp.user.id,
      identity,
      token: signUp.token,
      kp,
      state: null,
      kept: [],
    };
  });
}

/** One connection per device, with one subscription (positions: [] also replays what came before it was live). */
async function connect(list, query, onData) {
  return Promise.all(
    list.map(
      (d) =>
        new Promise((resolve, reject) => {
          const client = createClient({
            url: server.wsUrl,
            webSocketImpl: WebSocket,
            lazy: false,
            retryAttempts: 0,
            connectionParams: { authorization: `Bearer ${d.token}` },
            on: {
              connected: () => resolve(client),
              closed: (e) => reject(new Error(`closed ${e?.code} ${e?.reason}`)),
            },
          });
          client.subscribe(
            { query },
            {
              next: ({ data }) => data && onData(d, data.messageAdded),
              error: (e) => say(`subscription error: ${JSON.stringify(e)}`),
              complete: () => {},
            },
          );
        }),
    ),
  );
}

/** Warm-up, then a measured closed loop of S senders; deliveries counted by `counter`. */
async function measure(name, sendOne, counter) {
  const run = async (seconds) => {
    counter.count = 0;
    let sent = 0;
    const start = now();
    const cpu0 = cpuMs([pid]);
    await Promise.all(
      Array.from({ length: S }, async (_, s) => {
        while (now() - start < seconds * 1000) {
          await sendOne(s, `${name} ${s}/${++serial} ${TEXT}`);
          sent++;
        }
      }),
    );
    await until(() => counter.count >= sent * M, `${name}: ${sent * M} deliveries (got ${counter.count})`, 20_000);
    const elapsed = (counter.last - start) / 1000;
    return {
      sent,
      delivered: counter.count,
      perSec: counter.count / elapsed,
      cpuPer1k: ((cpuMs([pid]) - cpu0) / counter.count) * 1000,
      sendsPerSec: sent / elapsed,
    };
  };
  say(`${name}: ${WARMUP} s warm-up, then ${SECONDS} s measured`);
  await run(WARMUP);
  return run(SECONDS);
}

const t0 = now();
const all = await devices();
say(`${M} users, sessions and KeyPackages in ${((now() - t0) / 1000).toFixed(1)} s`);

// --- MLS: one group of all M devices ---------------------------------------------------------------------------
const SEND_MLS =
  'mutation($c: ID!, $m: String!, $w: String) { sendMlsMessage(conversationId: $c, message: $m, welcome: $w) { seq } }';
const owner = all[0];
const groupId = randomBytes(16);
const own = await keyPackage(owner.identity);
owner.state = await mls.createGroup(groupId, own.publicPackage, own.privatePackage, [], cs);
const { createEncryptedConversation: encrypted } = await post(
  server.url,
  'mutation($g: String!) { createEncryptedConversation(mlsGroupId: $g, title: "bench") { id } }',
  { g: b64(groupId) },
  owner.token,
);
const sample = all.slice(M - SAMPLE); // the devices that keep what they receive, to decrypt it afterwards
const mlsCount = { count: 0, last: 0 };
let joined = 0;
let joins = Promise.resolve();
const t1 = now();
const mlsClients = await connect(
  all,
  'subscription { messageAdded(positions: []) { mls { kind message welcome } } }',
  (d, m) => {
    if (m.mls.kind === 'APPLICATION') {
      mlsCount.count++;
      mlsCount.last = now();
      if (d.i >= M - SAMPLE) d.kept.push(m.mls.message);
    } else if (m.mls.welcome && d.state === null) {
      // One join at a time, as they arrive: each validates the whole ratchet tree of M leaves.
      joins = joins.then(async () => {
        d.state = await mls.joinGroup(
          decode(m.mls.welcome).welcome,
          d.kp.publicPackage,
          d.kp.privatePackage,
          mls.emptyPskIndex,
          cs,
        );
        joined++;
      });
    }
  },
);
const { claimKeyPackages } = await post(
  server.url,
  'mutation($u: [ID!]!) { claimKeyPackages(userIds: $u) { keyPackage } }',
  { u: all.slice(1).map((d) => d.id) },
  owner.token,
);
const extraProposals = claimKeyPackages.map((c) => ({
  proposalType: 'add',
  add: { keyPackage: decode(c.keyPackage).keyPackage },
}));
const commit = await mls.createCommit(
  { state: owner.state, cipherSuite: cs, pskIndex: mls.emptyPskIndex },
  { wireAsPublicMessage: true, ratchetTreeExtension: true, extraProposals },
);
const commitText = b64(mls.encodeMlsMessage(commit.commit));
const welcomeText = encode({ wireformat: 'mls_welcome', welcome: commit.welcome });
const t2 = now();
await post(server.url, SEND_MLS, { c: encrypted.id, m: commitText, w: welcomeText }, owner.token);
const commitMs = now() - t2;
owner.state = commit.newState;
await until(() => joined === M - 1, `${M - 1} devices joining (${joined} did)`);
say(
  `MLS group of ${M} devices: ${claimKeyPackages.length} KeyPackages claimed, commit ${commitText.length} + Welcome ${welcomeText.length} base64 characters, ` +
    `accepted in ${commitMs.toFixed(0)} ms; connected and joined in ${((now() - t1) / 1000).toFixed(1)} s`,
);

const sentTexts = new Set();
let mlsBytes = 0;
const mlsRun = await measure(
  'MLS',
  async (s, text) => {
    const d = all[s];
    const { newState, privateMessage } = await mls.createApplicationMessage(d.state, Buffer.from(text), cs);
    d.state = newState;
    const message = encode({ wireformat: 'mls_private_message', privateMessage });
    mlsBytes = message.length;
    sentTexts.add(text);
    await post(server.url, SEND_MLS, { c: encrypted.id, m: message }, d.token);
  },
  mlsCount,
);
await Promise.all(mlsClients.map((c) => c.dispose()));

// Afterwards, the sample devices decrypt everything they received, in order: every text sent, each once.
const t3 = now();
for (const d of sample) {
  const texts = new Set();
  for (const message of d.kept) {
    const result = await mls.processMessage(decode(message), d.state, mls.emptyPskIndex, mls.acceptAll, cs);
    d.state = result.newState;
    texts.add(Buffer.from(result.message).toString());
  }
  const missing = [...sentTexts].filter((t) => !texts.has(t)).length;
  if (d.kept.length !== sentTexts.size || missing > 0) {
    throw new Error(
      `device ${d.i}: received ${d.kept.length}, decrypted ${texts.size} distinct of ${sentTexts.size} sent, ${missing} missing`,
    );
  }
}
// What encrypting costs the driver (which shares the cores with the server), measured alone: 100 messages that
// are not sent.
const t4 = now();
for (let k = 0; k < 100; k++) {
  all[0].state = (await mls.createApplicationMessage(all[0].state, Buffer.from(TEXT), cs)).newState;
}
const encryptMs = (now() - t4) / 100;
const verified = `${SAMPLE} devices decrypted all ${sentTexts.size} messages in ${((now() - t3) / 1000).toFixed(1)} s`;
say(`MLS verified: ${verified}`);

// --- Plaintext: a group of the same M users ----------------------------------------------------------------------
const plainCount = { count: 0, last: 0 };
const plainClients = await connect(all, 'subscription { messageAdded(positions: []) { content } }', () => {
  plainCount.count++;
  plainCount.last = now();
});
const { createGroup } = await post(
  server.url,
  'mutation($m: [ID!]!) { createGroup(title: "bench", memberIds: $m) { id } }',
  { m: all.slice(1).map((d) => d.id) },
  owner.token,
);
const SEND = 'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { id } }';
const plainRun = await measure(
  'plaintext',
  (s, text) => post(server.url, SEND, { c: createGroup.id, t: text }, all[s].token),
  plainCount,
);
// The same plaintext load at the MLS run's send rate: fewer sends a second coalesce less, so CPU per delivery
// rises with a lower rate whatever the payload; this row compares the two at one rate.
const interval = (S / mlsRun.sendsPerSec) * 1000;
const pacedRun = await measure(
  'plaintext at the MLS rate',
  async (s, text) => {
    const started = now();
    await post(server.url, SEND, { c: createGroup.id, t: text }, all[s].token);
    await new Promise((r) => setTimeout(r, Math.max(0, interval - (now() - started))));
  },
  plainCount,
);
await Promise.all(plainClients.map((c) => c.dispose()));

const row = (name, r, payload) =>
  `${name.padEnd(12)} ${String(Math.round(r.perSec)).padStart(12)} ${String(Math.round(r.sendsPerSec)).padStart(8)} ${r.cpuPer1k.toFixed(1).padStart(16)}   ${payload}`;
console.log(
  `${M}-device group, ${S} senders, closed loop for ${SECONDS} s (after ${WARMUP} s warm-up), embedded default`,
);
console.log(
  `${'run'.padEnd(12)} ${'deliveries/s'.padStart(12)} ${'sends/s'.padStart(8)} ${'CPU ms/1k deliv.'.padStart(16)}   payload`,
);
console.log(row('MLS', mlsRun, `mls.message: ${mlsBytes} base64 chars (${TEXT.length}+ character texts)`));
console.log(row('plaintext', plainRun, `content: ${TEXT.length}+ characters`));
console.log(row('plain, paced', pacedRun, `content: ${TEXT.length}+ characters, at the MLS run's sends/s`));
console.log(
  `MLS / plaintext: deliveries/s ${(mlsRun.perSec / plainRun.perSec).toFixed(2)}x, server CPU per delivery ${(mlsRun.cpuPer1k / plainRun.cpuPer1k).toFixed(2)}x`,
);
console.log(
  `MLS / plaintext at the same send rate: server CPU per delivery ${(mlsRun.cpuPer1k / pacedRun.cpuPer1k).toFixed(2)}x`,
);
console.log(`MLS senders: encrypting one message takes this driver ${encryptMs.toFixed(2)} ms of CPU (measured alone)`);
console.log(`MLS receivers counted deliveries without decrypting; afterwards ${verified}`);
process.exit(0);
