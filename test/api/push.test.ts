import { generateKeyPairSync } from 'node:crypto';
import { cert, deleteApp, initializeApp } from 'firebase-admin/app';
import { getMessaging } from 'firebase-admin/messaging';
import type { Client } from 'graphql-ws';
import { createFcmSender } from '../../src/push/fcm';
import { previewOf, type PushMulticast, type PushOutcome, type PushSender } from '../../src/push/notifier';
import { codes, gql, gqlOk, signUpMany, subscribe, wsClient, type TestUser } from '../helpers/client';
import { startTestServer, type TestServer } from '../helpers/server';
import { CREATE_GROUP, MESSAGE_ADDED_IDS, OPEN_DIRECT, SEND } from '../helpers/operations';

/** A PushSender that records every multicast and answers as `answer` says (all delivered by default). */
function recordingSender(
  answer: (m: PushMulticast) => Promise<PushOutcome[]> = async (m) =>
    m.tokens.map((token) => ({ token, ok: true as const })),
) {
  const sent: PushMulticast[] = [];
  const sender: PushSender = {
    sendMulticast: (m) => {
      sent.push(m);
      return answer(m);
    },
  };
  return { sent, sender };
}

async function until(ready: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !ready(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const REGISTER = 'mutation($t: String!) { registerPushToken(token: $t, platform: ANDROID) }';

describe('push notifications', () => {
  let server: TestServer;
  const fake = recordingSender();
  beforeAll(async () => {
    server = await startTestServer({
      pushSender: fake.sender,
      pushLimits: { concurrency: 1 },
      env: { PRESENCE_GRACE_MS: '50' },
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  const register = (user: TestUser, ...tokens: string[]) =>
    Promise.all(tokens.map((t) => gqlOk(server.url, REGISTER, { t }, user.token)));
  const group = async (owner: TestUser, members: TestUser[], title = 'Lunch') =>
    (await gqlOk(server.url, CREATE_GROUP, { t: title, m: members.map((m) => m.id) }, owner.token)).createGroup
      .id as string;
  async function online(user: TestUser): Promise<Client> {
    const client = wsClient(server.wsUrl, user.token);
    subscribe(client, MESSAGE_ADDED_IDS);
    await server.pubsub.waitForSubscribers('messageAdded', user.id);
    return client;
  }

  it('pushes to members with no device online, once, with the sender, group, preview and ids', async () => {
    const [alice, bob, carol, dave] = await signUpMany(server.url, 4, 'push');
    await register(alice!, 'alice-phone');
    await register(bob!, 'bob-phone');
    await register(carol!, 'carol-phone', 'carol-tablet');
    const c = await group(alice!, [bob!, carol!, dave!]);
    const bobOnline = await online(bob!);
    fake.sent.length = 0;
    const sent = (await gqlOk(server.url, SEND, { c, t: '  Noon\n at the usual place? ' }, alice!.token)).sendMessage;
    await until(() => fake.sent.length >= 1, 'a push');
    expect(fake.sent).toEqual([
      {
        tokens: ['carol-phone', 'carol-tablet'],
        title: `${alice!.username} in Lunch`,
        body: 'Noon at the usual place?',
        data: { conversationId: c, messageId: sent.id, seq: String(sent.seq) },
      },
    ]);
    // Bob was online: nothing for him; a later push (one worker, in order) shows nothing more was coming.
    const direct = (await gqlOk(server.url, OPEN_DIRECT, { u: carol!.id }, alice!.token)).openDirectConversation.id;
    await gqlOk(server.url, SEND, { c: direct, t: 'psst' }, alice!.token);
    await until(() => fake.sent.length >= 2, 'the second push');
    expect(fake.sent[1]).toMatchObject({
      tokens: ['carol-phone', 'carol-tablet'],
      title: alice!.username,
      body: 'psst',
    });
    expect(fake.sent).toHaveLength(2);
    await bobOnline.dispose();
  });

  it('a muted conversation pushes to the viewer only for a mention or a reply to their message, until the mute ends', async () => {
    const [alice, bob, carol] = await signUpMany(server.url, 3, 'mute');
    await register(bob!, 'bob-mute-phone');
    await register(carol!, 'carol-mute-phone');
    const c = await group(alice!, [bob!, carol!], 'Quiet');
    const MUTE = 'mutation($c: ID!, $u: DateTime) { muteConversation(conversationId: $c, until: $u) { mutedUntil } }';
    const muted = await gqlOk(server.url, MUTE, { c }, bob!.token);
    expect(muted.muteConversation.mutedUntil).toBe('9999-12-31T23:59:59.999Z');
    const send = async (t: string, replyToId?: string) =>
      (
        await gqlOk(
          server.url,
          'mutation($c: ID!, $t: String!, $r: ID) { sendMessage(conversationId: $c, content: $t, replyToId: $r) { id } }',
          { c, t, r: replyToId },
          alice!.token,
        )
      ).sendMessage.id as string;
    /** Who each message pushed to: one worker pushes in order, so a last message to Carol marks the end. */
    const pushedFor = async (t: string, replyToId?: string) => {
      fake.sent.length = 0;
      const id = await send(t, replyToId);
      await until(() => fake.sent.some((m) => m.data.messageId === id), `the push of "${t}"`);
      return fake.sent.filter((m) => m.data.messageId === id).flatMap((m) => m.tokens);
    };
    expect(await pushedFor('lunch?')).toEqual(['carol-mute-phone']);
    expect(await pushedFor(`@${bob!.username} lunch?`)).toEqual(['bob-mute-phone', 'carol-mute-phone']);
    const bobs = (
      await gqlOk(
        server.url,
        'mutation($c: ID!) { sendMessage(conversationId: $c, content: "mine") { id } }',
        { c },
        bob!.token,
      )
    ).sendMessage.id;
    expect(await pushedFor('re: yours', bobs)).toEqual(['bob-mute-phone', 'carol-mute-phone']);
    // A mute with an end: over once it has passed.
    const soon = new Date(Date.now() + 1500).toISOString();
    expect((await gqlOk(server.url, MUTE, { c, u: soon }, bob!.token)).muteConversation.mutedUntil).toBe(soon);
    expect(await pushedFor('still quiet')).toEqual(['carol-mute-phone']);
    await new Promise((r) => setTimeout(r, 1600));
    expect(await pushedFor('back')).toEqual(['bob-mute-phone', 'carol-mute-phone']);
    // Unmuted: everything pushes again; a mute in the past is refused.
    await gqlOk(server.url, MUTE, { c }, bob!.token);
    const unmuted = await gqlOk(
      server.url,
      'mutation($c: ID!) { unmuteConversation(conversationId: $c) { mutedUntil } }',
      { c },
      bob!.token,
    );
    expect(unmuted.unmuteConversation.mutedUntil).toBeNull();
    expect(await pushedFor('hello again')).toEqual(['bob-mute-phone', 'carol-mute-phone']);
    const past = await gql(server.url, MUTE, { c, u: new Date(Date.now() - 1000).toISOString() }, bob!.token);
    expect(codes(past)).toEqual(['BAD_USER_INPUT']);
  });

  it('pushes new messages only: an edit, a reaction or a deletion pushes nothing', async () => {
    const [alice, carol] = await signUpMany(server.url, 2, 'pushedit');
    await register(carol!, 'carol-edit-phone');
    const c = await group(alice!, [carol!], 'Edits');
    fake.sent.length = 0;
    const m = (await gqlOk(server.url, SEND, { c, t: 'first' }, alice!.token)).sendMessage.id;
    await until(() => fake.sent.length >= 1, 'a push');
    await gqlOk(
      server.url,
      'mutation($m: ID!) { editMessage(messageId: $m, content: "edited") { id } }',
      { m },
      alice!.token,
    );
    await gqlOk(
      server.url,
      'mutation($m: ID!) { addReaction(messageId: $m, emoji: "👍") { id } }',
      { m },
      alice!.token,
    );
    await gqlOk(server.url, 'mutation($m: ID!) { deleteMessage(messageId: $m) { id } }', { m }, alice!.token);
    await gqlOk(server.url, SEND, { c, t: 'second' }, alice!.token);
    // One worker, in order: once the second message's push is out, nothing else was queued before it.
    await until(() => fake.sent.length >= 2, 'the second push');
    expect(fake.sent.map((p) => p.body)).toEqual(['first', 'second']);
  });

  it('covers a 100-member group with everyone offline in batches of at most 500 tokens, each token once', async () => {
    const users = await signUpMany(server.url, 100, 'big');
    const tokens: string[] = [];
    await Promise.all(
      users.slice(1).map(async (u, i) => {
        const mine = Array.from({ length: 6 }, (_, k) => `t-${i}-${k}`);
        tokens.push(...mine);
        await register(u, ...mine);
      }),
    );
    const c = await group(users[0]!, users.slice(1));
    fake.sent.length = 0;
    await gqlOk(server.url, SEND, { c, t: 'everyone' }, users[0]!.token);
    await until(() => fake.sent.flatMap((m) => m.tokens).length >= 594, 'all tokens');
    expect(fake.sent.map((m) => m.tokens.length)).toEqual([500, 94]);
    expect(fake.sent.flatMap((m) => m.tokens).sort()).toEqual([...tokens].sort());
  }, 120_000);

  it('gives a token to the account that registered it last: the previous owner is no longer pushed on it', async () => {
    const [alice, bob, carol] = await signUpMany(server.url, 3, 'handover');
    await register(alice!, 'handed-over-phone', 'alice-tablet');
    // The phone changes hands (or accounts): its app registers the same token for Bob.
    await register(bob!, 'handed-over-phone');
    const toAlice = (await gqlOk(server.url, OPEN_DIRECT, { u: alice!.id }, carol!.token)).openDirectConversation.id;
    const toBob = (await gqlOk(server.url, OPEN_DIRECT, { u: bob!.id }, carol!.token)).openDirectConversation.id;
    fake.sent.length = 0;
    await gqlOk(server.url, SEND, { c: toAlice, t: 'for alice' }, carol!.token);
    await gqlOk(server.url, SEND, { c: toBob, t: 'for bob' }, carol!.token);
    // One worker, in order: both pushes are out once the second is.
    await until(() => fake.sent.length >= 2, 'two pushes');
    expect(fake.sent.map((m) => [m.body, m.tokens])).toEqual([
      ['for alice', ['alice-tablet']],
      ['for bob', ['handed-over-phone']],
    ]);
    // Nor can Alice take it back from Bob by unregistering it.
    await gqlOk(
      server.url,
      'mutation($t: String!) { unregisterPushToken(token: $t) }',
      { t: 'handed-over-phone' },
      alice!.token,
    );
    expect((await server.store.pushTokens.listForUsers([bob!.id])).map((t) => t.token)).toEqual(['handed-over-phone']);
  });

  it('cuts long previews', () => {
    expect(previewOf('a'.repeat(200))).toBe(`${'a'.repeat(139)}…`);
    expect(previewOf('😀'.repeat(150))).toBe(`${'😀'.repeat(139)}…`);
  });
});

describe('push when FCM misbehaves', () => {
  it('removes tokens FCM reports as no longer registered', async () => {
    const fake = recordingSender(async (m) =>
      m.tokens.map((token) =>
        token === 'stale'
          ? { token, ok: false as const, unregistered: true, error: 'messaging/registration-token-not-registered' }
          : { token, ok: true as const },
      ),
    );
    const server = await startTestServer({ pushSender: fake.sender });
    try {
      const [alice, bob] = await signUpMany(server.url, 2, 'stale');
      await gqlOk(server.url, REGISTER, { t: 'stale' }, bob!.token);
      await gqlOk(server.url, REGISTER, { t: 'fresh' }, bob!.token);
      const c = (await gqlOk(server.url, OPEN_DIRECT, { u: bob!.id }, alice!.token)).openDirectConversation.id;
      await gqlOk(server.url, SEND, { c, t: 'hi' }, alice!.token);
      await until(() => fake.sent.length === 1, 'a push');
      for (
        const deadline = Date.now() + 5000;
        (await server.store.pushTokens.listForUsers([bob!.id])).length > 1 && Date.now() < deadline;

      ) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect((await server.store.pushTokens.listForUsers([bob!.id])).map((t) => t.token)).toEqual(['fresh']);
    } finally {
      await server.stop();
    }
  });

  it.each([
    ['failing', () => Promise.reject(new Error('FCM is down'))],
    ['hanging', () => new Promise<PushOutcome[]>(() => undefined)],
  ])('never delays or fails sendMessage when FCM is %s, and keeps a bounded queue', async (_name, behave) => {
    const fake = recordingSender(behave);
    const server = await startTestServer({
      pushSender: fake.sender,
      pushLimits: { concurrency: 1, maxPending: 3, sendTimeoutMs: 60_000 },
    });
    try {
      const [alice, bob] = await signUpMany(server.url, 2, 'slow');
      await gqlOk(server.url, REGISTER, { t: 'bob-phone' }, bob!.token);
      const c = (await gqlOk(server.url, OPEN_DIRECT, { u: bob!.id }, alice!.token)).openDirectConversation.id;
      const results = [];
      for (let i = 0; i < 10; i++)
        results.push((await gqlOk(server.url, SEND, { c, t: `m${i}` }, alice!.token)).sendMessage);
      expect(results.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      await until(() => fake.sent.length >= 1, 'a push attempt');
      // Hanging: one send in flight, three queued, the rest dropped. Failing: each is tried and given up.
      if (_name === 'hanging') expect(fake.sent).toHaveLength(1);
    } finally {
      await server.stop();
    }
  });
});

describe('the real firebase-admin path', () => {
  it('sends through firebase-admin up to the network boundary and reports its per-token failures', async () => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const serviceAccount = {
      projectId: 'chat-api-test',
      clientEmail: 'push@chat-api-test.iam.gserviceaccount.com',
      privateKey,
    };
    const app = initializeApp(
      { credential: cert(serviceAccount), projectId: 'chat-api-test' },
      `push-test-${Date.now()}`,
    );
    try {
      const messaging = getMessaging(app);
      // HTTP/1.1 instead of an HTTP/2 session: the same request and response handling, answered per token.
      messaging.enableLegacyHttpTransport();
      const outcomes = await createFcmSender(messaging).sendMulticast({
        tokens: ['token-a', 'token-b'],
        title: 'alice',
        body: 'hi',
        data: { conversationId: '1', messageId: '2', seq: '3' },
      });
      // The OAuth token request to Google fails (no network here; a made-up key anywhere else):
      // every token failed, none is taken for unregistered.
      expect(outcomes).toEqual([
        { token: 'token-a', ok: false, unregistered: false, error: 'app/invalid-credential' },
        { token: 'token-b', ok: false, unregistered: false, error: 'app/invalid-credential' },
      ]);
    } finally {
      await deleteApp(app);
    }
  }, 30_000);
});
