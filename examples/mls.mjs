// An end-to-end encrypted conversation between two devices, with ts-mls (MLS, RFC 9420) as the client. The
// server is the Delivery Service: it stores and orders the group's messages and cannot read them.
//   node examples/mls.mjs [http://localhost:4000/graphql]
// Run it from the project root against a running server (npm start): it uses the project's ts-mls, graphql-ws
// and ws. It exits 0 when both devices decrypted every message, else 1 with one line saying why.
import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import * as mls from 'ts-mls';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';

const url = process.argv[2] ?? 'http://localhost:4000/graphql';
const wsUrl = url.replace(/^http/, 'ws');
const cs = await mls.getCiphersuiteImpl(mls.getCiphersuiteFromName('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'));
const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const unb64 = (text) => new Uint8Array(Buffer.from(text, 'base64'));
// Everything crosses the API as base64 of a TLS-encoded MLSMessage (KeyPackage, Welcome, commit, ciphertext).
const encode = (message) => b64(mls.encodeMlsMessage({ version: 'mls10', ...message }));
const decode = (text) => mls.decodeMlsMessage(unb64(text), 0)[0];

const SEND_MLS = `mutation($c: ID!, $m: String!, $w: String) {
  sendMlsMessage(conversationId: $c, message: $m, welcome: $w) { seq } }`;

/** One GraphQL operation over HTTP POST; its data, or an error naming the server's answer. */
async function gql(query, variables, token) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ query, variables }),
  }).catch(() => Promise.reject(new Error(`cannot reach ${url}`)));
  const body = await res.json();
  if (body.errors) throw new Error(body.errors.map((e) => `${e.message} (${e.extensions?.code})`).join('; '));
  return body.data;
}

/**
 * A signed-up user and their device. An MLS member is a device, and a device is a session: its KeyPackages'
 * BasicCredential identity is `<userId>:<sessionId>`, which the server checks on upload.
 */
async function signUpDevice(name) {
  const username = `${name}_${Math.random().toString(36).slice(2, 8)}`;
  const { signUp } = await gql(
    'mutation($u: String!) { signUp(username: $u, password: "password-123") { token user { id } session { id } } }',
    { u: username },
  );
  const device = {
    name,
    token: signUp.token,
    userId: signUp.user.id,
    identity: `${signUp.user.id}:${signUp.session.id}`,
    signatureKeys: await cs.signature.keygen(), // one signing key per device, in every KeyPackage it makes
    keyPackages: new Map(), // base64 KeyPackageRef -> { publicPackage, privatePackage }: to join with later
    state: null, // the ts-mls group state, once in the group
    sent: new Set(), // own messages: the server echoes them back, and a device skips them
    inbox: [], // what it decrypted, for the conversation below to wait on
  };
  console.log(`${name}: signed up as ${username}, device ${device.identity}`);
  return device;
}

/** A KeyPackage of the device (valid for 30 days), whose private keys it keeps. */
async function newKeyPackage(device) {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const credential = { credentialType: 'basic', identity: Buffer.from(device.identity) };
  const lifetime = { notBefore: now - 3600n, notAfter: now + 30n * 86400n };
  const caps = mls.defaultCapabilities();
  const kp = await mls.generateKeyPackageWithKey(credential, caps, lifetime, [], device.signatureKeys, cs);
  device.keyPackages.set(b64(await makeKeyPackageRef(kp.publicPackage, cs.hash)), kp);
  return kp;
}

/** Publishes KeyPackages so that others can add the device to groups while it is offline. */
async function uploadKeyPackages(device, n) {
  const texts = [];
  for (let i = 0; i < n; i++) {
    texts.push(encode({ wireformat: 'mls_key_package', keyPackage: (await newKeyPackage(device)).publicPackage }));
  }
  const upload = 'mutation($k: [String!]!) { uploadKeyPackages(keyPackages: $k) }';
  const { uploadKeyPackages: left } = await gql(upload, { k: texts }, device.token);
  console.log(`${device.name}: uploaded ${n} KeyPackages (${left} unclaimed on the server)`);
}

/** The first thing that went wrong in a subscription, if any. */
let failure = null;
const fail = (error) => (failure ??= error);

/**
 * The device's live stream of messages. `positions: []` also replays every conversation from where the device
 * joined it, so nothing is missed even if it is added before this subscription is running. Messages are
 * processed one at a time, in the order (seq) the server gives them.
 */
function listen(device) {
  device.client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${device.token}` },
  });
  let queue = Promise.resolve();
  device.client.subscribe(
    { query: 'subscription { messageAdded(positions: []) { seq mls { kind epoch message welcome } } }' },
    {
      next: ({ data, errors }) => {
        if (errors) return fail(new Error(`${device.name}'s subscription: ${errors[0].message}`));
        queue = queue.then(() => receive(device, data.messageAdded.mls)).catch(fail);
      },
      error: (e) => fail(new Error(`${device.name}'s subscription ended: ${e.reason ?? e.message ?? e}`)),
      complete: () => {},
    },
  );
}

async function receive(device, { kind, message, welcome }) {
  if (device.sent.has(message)) return; // its own message, echoed back
  if (!device.state) {
    // Not in the group yet: the commit that adds this device carries the Welcome, with the ratchet tree.
    // It names the KeyPackage it was made for by its reference (a hash).
    const w = welcome && decode(welcome).welcome;
    const kp = w?.secrets.map((s) => device.keyPackages.get(b64(s.newMember))).find(Boolean);
    if (!kp) return;
    device.state = await mls.joinGroup(w, kp.publicPackage, kp.privatePackage, mls.emptyPskIndex, cs);
    console.log(`${device.name}: joined the group from the Welcome (epoch ${device.state.groupContext.epoch})`);
    return;
  }
  const result = await mls.processMessage(decode(message), device.state, mls.emptyPskIndex, mls.acceptAll, cs);
  device.state = result.newState;
  if (kind !== 'APPLICATION') return;
  const text = Buffer.from(result.message).toString();
  console.log(`${device.name} decrypted: ${text}`);
  device.inbox.push(text);
}

/** Encrypts a text for the group (a PrivateMessage) and hands it to the server. */
async function send(device, conversationId, text) {
  const { newState, privateMessage } = await mls.createApplicationMessage(device.state, Buffer.from(text), cs);
  device.state = newState;
  const message = encode({ wireformat: 'mls_private_message', privateMessage });
  device.sent.add(message);
  await gql(SEND_MLS, { c: conversationId, m: message }, device.token);
}

/** Resolves once `done()` is true; throws a subscription's failure, or after 10 s. */
async function waitFor(done, what) {
  for (const deadline = Date.now() + 10_000; !done(); await new Promise((r) => setTimeout(r, 20))) {
    if (failure) throw failure;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within 10 s`);
  }
}

async function main() {
  const alice = await signUpDevice('alice');
  const bob = await signUpDevice('bob');
  await uploadKeyPackages(alice, 2);
  await uploadKeyPackages(bob, 2);

  // 1. Alice's device creates the MLS group (epoch 0, her alone) and registers it as a conversation.
  const groupId = randomBytes(16);
  const own = await newKeyPackage(alice);
  alice.state = await mls.createGroup(groupId, own.publicPackage, own.privatePackage, [], cs);
  const { createEncryptedConversation: conversation } = await gql(
    'mutation($g: String!) { createEncryptedConversation(mlsGroupId: $g, title: "Secret lunch") { id epoch } }',
    { g: b64(groupId) },
    alice.token,
  );
  console.log(`alice: created encrypted conversation ${conversation.id} (epoch ${conversation.epoch})`);
  listen(alice);
  listen(bob);

  // 2. She claims one KeyPackage of each of Bob's devices (each is handed out once), and commits the Add as a
  //    PublicMessage, so that the server can see who joins; the Welcome lets Bob's device join.
  const { claimKeyPackages } = await gql(
    'mutation($u: [ID!]!) { claimKeyPackages(userIds: $u) { sessionId keyPackage } }',
    { u: [bob.userId] },
    alice.token,
  );
  const add = (keyPackage) => ({ proposalType: 'add', add: { keyPackage } });
  const extraProposals = claimKeyPackages.map((c) => add(decode(c.keyPackage).keyPackage));
  const { commit, welcome, newState } = await mls.createCommit(
    { state: alice.state, cipherSuite: cs, pskIndex: mls.emptyPskIndex },
    { wireAsPublicMessage: true, ratchetTreeExtension: true, extraProposals },
  );
  const commitText = b64(mls.encodeMlsMessage(commit));
  alice.sent.add(commitText);
  const welcomeText = encode({ wireformat: 'mls_welcome', welcome });
  await gql(SEND_MLS, { c: conversation.id, m: commitText, w: welcomeText }, alice.token);
  alice.state = newState; // the server accepted the commit: the group is at the next epoch
  console.log(
    `alice: added bob's device (${claimKeyPackages.length} KeyPackage claimed), now at epoch ${alice.state.groupContext.epoch}`,
  );

  // 3. They talk. Each message is encrypted on the sender's device and decrypted on the other's.
  const lines = [
    [alice, bob, 'Hello Bob, this is end-to-end encrypted.'],
    [bob, alice, 'Hi Alice! The server only relays ciphertext.'],
    [alice, bob, 'Noon at the usual place?'],
  ];
  for (const [from, to, text] of lines) {
    await waitFor(() => from.state, `${from.name} joining`); // Bob first joins from the Welcome
    await send(from, conversation.id, text);
    await waitFor(() => to.inbox.includes(text), `${to.name} decrypting "${text}"`);
  }

  // 4. What the server stored: MLS messages of each kind and epoch, sizes, and no readable content.
  const { messages, conversation: after } = await gql(
    `query($c: ID!) { conversation(id: $c) { epoch members { username } }
      messages(conversationId: $c, last: 10) { edges { node { seq content mls { kind epoch message } } } } }`,
    { c: conversation.id },
    alice.token,
  );
  const members = after.members.map((m) => m.username).join(', ');
  console.log(`server: conversation at epoch ${after.epoch}, members ${members}`);
  for (const { node: m } of messages.edges) {
    const what = `${m.mls.kind} (epoch ${m.mls.epoch}): ${unb64(m.mls.message).length} bytes of MLS`;
    console.log(`server: seq ${m.seq} ${what}, content ${JSON.stringify(m.content)}`);
  }
}

try {
  await main();
  console.log('ok: both devices decrypted every message; the server holds only ciphertext');
  process.exit(0);
} catch (error) {
  console.error(`mls.mjs: ${error.message ?? error}`);
  process.exit(1);
}
