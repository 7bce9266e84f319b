import { codes, gql, gqlOk, signUpMany, subscribe, wsClient, type TestUser } from '../helpers/client';
import { useTestServer } from '../helpers/server';
import { ADD_MEMBERS, CREATE_GROUP, LEAVE } from '../helpers/operations';

const server = useTestServer();

const SEND = `mutation($c: ID!, $t: String!, $k: String) {
  sendMessage(conversationId: $c, content: $t, clientMessageId: $k) { id seq content clientMessageId conversationId createdAt sender { id username } }
}`;
const HISTORY = `query($c: ID!, $first: Int, $after: ID, $last: Int, $before: ID) {
  messages(conversationId: $c, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id seq content } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;
const LIVE = `subscription($c: ID, $after: ID) { messageAdded(conversationId: $c, after: $after) { id seq content conversationId sender { id } } }`;

async function group(owner: TestUser, members: TestUser[], title = 'test group'): Promise<string> {
  const data = await gqlOk(server.url, CREATE_GROUP, { t: title, m: members.map((m) => m.id) }, owner.token);
  return data.createGroup.id;
}

async function send(user: TestUser, conversationId: string, content: string, clientMessageId?: string) {
  return (await gqlOk(server.url, SEND, { c: conversationId, t: content, k: clientMessageId }, user.token)).sendMessage;
}

async function history(user: TestUser, conversationId: string, args: Record<string, unknown> = {}) {
  return (await gqlOk(server.url, HISTORY, { c: conversationId, ...args }, user.token)).messages;
}

describe('sendMessage', () => {
  let alice: TestUser, bob: TestUser, carol: TestUser, conversationId: string;
  beforeAll(async () => {
    [alice, bob, carol] = await signUpMany(server.url, 3);
    conversationId = await group(alice, [bob]);
  });

  it('stores the message with seq 1, 2, 3 and a time-ordered id', async () => {
    const first = await send(alice, conversationId, 'hello');
    const second = await send(bob, conversationId, 'hi alice');
    expect(first).toMatchObject({
      seq: 1,
      content: 'hello',
      conversationId,
      clientMessageId: null,
      sender: { id: alice.id },
    });
    expect(second.seq).toBe(2);
    expect(BigInt(second.id) > BigInt(first.id)).toBe(true);
    expect(new Date(first.createdAt).toISOString()).toBe(first.createdAt);
    const page = await history(alice, conversationId);
    expect(page.edges.map((e: any) => e.node.content)).toEqual(['hello', 'hi alice']);
  });

  it('returns the original message for a retried clientMessageId, and stores one copy', async () => {
    const before = (await history(alice, conversationId)).edges.length;
    const [a, b] = await Promise.all([
      send(alice, conversationId, 'only once', 'device-1-msg-1'),
      send(alice, conversationId, 'only once', 'device-1-msg-1'),
    ]);
    const c = await send(alice, conversationId, 'only once', 'device-1-msg-1');
    expect(b.id).toBe(a.id);
    expect(c).toEqual(a);
    expect(a.clientMessageId).toBe('device-1-msg-1');
    expect((await history(alice, conversationId)).edges.length).toBe(before + 1);
    // The key is per sender: bob may use the same one.
    const bobs = await send(bob, conversationId, 'mine', 'device-1-msg-1');
    expect(bobs.id).not.toBe(a.id);
  });

  it('accepts 100,000 emoji (code points, not UTF-16 units)', async () => {
    const content = '😀'.repeat(100_000);
    const message = await send(alice, conversationId, content);
    expect(message.content).toBe(content);
  });

  describe('refuses bad input with BAD_USER_INPUT and stores nothing', () => {
    const cases: [string, () => string][] = [
      ['empty content', () => ''],
      ['whitespace only', () => '  \n\t '],
      ['100,001 code points', () => 'a'.repeat(100_001)],
      ['100,001 emoji', () => '😀'.repeat(100_001)],
      ['a lone high surrogate', () => 'broken \uD83D text'],
      ['a lone low surrogate', () => '\uDE00'],
    ];
    it.each(cases)('%s', async (_name, content) => {
      const live = subscribe(wsClient(server.wsUrl, bob.token), LIVE, { c: conversationId });
      await server.pubsub.waitForSubscribers('messageAdded', bob.id);
      const before = await history(alice, conversationId, { last: 1 });
      const res = await gql(server.url, SEND, { c: conversationId, t: content() }, alice.token);
      expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.data).toBeNull();
      expect(await history(alice, conversationId, { last: 1 })).toEqual(before);
      await live.expectSilence(100);
      live.dispose();
    });
  });

  it('is FORBIDDEN for a non-member, and for an unknown conversation alike', async () => {
    const before = await history(alice, conversationId, { last: 1 });
    expect(codes(await gql(server.url, SEND, { c: conversationId, t: 'let me in' }, carol.token))).toEqual([
      'FORBIDDEN',
    ]);
    expect(codes(await gql(server.url, SEND, { c: '12345', t: 'anyone?' }, carol.token))).toEqual(['FORBIDDEN']);
    expect(await history(alice, conversationId, { last: 1 })).toEqual(before);
  });
});

describe('messages (history)', () => {
  let alice: TestUser, bob: TestUser, mallory: TestUser, conversationId: string, otherId: string;
  let ids: string[];
  beforeAll(async () => {
    [alice, bob, mallory] = await signUpMany(server.url, 3);
    conversationId = await group(alice, [bob]);
    otherId = await group(mallory, []);
    ids = [];
    for (let i = 1; i <= 120; i++) ids.push((await send(i % 2 ? alice : bob, conversationId, `m${i}`)).id);
    await send(mallory, otherId, 'elsewhere');
  });

  const contents = (page: any) => page.edges.map((e: any) => e.node.content);
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`);

  it('returns the newest 50, oldest first, by default', async () => {
    const page = await history(bob, conversationId);
    expect(contents(page)).toEqual(range(71, 120));
    expect(page.pageInfo).toEqual({
      hasPreviousPage: true,
      hasNextPage: false,
      startCursor: ids[70],
      endCursor: ids[119],
    });
    expect(page.edges.every((e: any) => e.cursor === e.node.id)).toBe(true);
  });

  it('pages backwards with last/before until the beginning', async () => {
    const seen: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await history(alice, conversationId, { last: 30, before });
      seen.unshift(...contents(page));
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(seen).toEqual(range(1, 120));
  });

  it('pages forwards with first/after until the end', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await history(alice, conversationId, { first: 100, after });
      seen.push(...contents(page));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(range(1, 120));
    const fromMiddle = await history(alice, conversationId, { first: 5, after: ids[9] });
    expect(contents(fromMiddle)).toEqual(range(11, 15));
    expect(fromMiddle.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
  });

  it('takes a window between after and before', async () => {
    expect(contents(await history(alice, conversationId, { after: ids[9], before: ids[14] }))).toEqual(range(11, 14));
  });

  it.each([
    ['first: 101', { first: 101 }],
    ['last: 101', { last: 101 }],
    ['first: -1', { first: -1 }],
    ['first and last', { first: 5, last: 5 }],
    ['an unknown cursor', { after: '999999999' }],
    ['a malformed cursor', { before: 'not-an-id' }],
  ])('refuses %s with BAD_USER_INPUT', async (_name, args) => {
    const res = await gql(server.url, HISTORY, { c: conversationId, ...args }, alice.token);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  it("refuses another conversation's cursor with BAD_USER_INPUT", async () => {
    const elsewhere = await history(mallory, otherId);
    const res = await gql(server.url, HISTORY, { c: conversationId, after: elsewhere.edges[0].cursor }, alice.token);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  it('is FORBIDDEN to a non-member', async () => {
    const res = await gql(server.url, HISTORY, { c: conversationId }, mallory.token);
    expect(codes(res)).toEqual(['FORBIDDEN']);
    expect(res.data).toBeNull();
  });
});

describe('messageAdded', () => {
  let alice: TestUser, bob: TestUser, mallory: TestUser, conversationId: string;
  beforeAll(async () => {
    [alice, bob, mallory] = await signUpMany(server.url, 3);
    conversationId = await group(alice, [bob]);
  });

  it("delivers to every open connection of every member, including the sender's other devices", async () => {
    const devices = [alice, alice, bob, bob, bob].map((u) => ({
      user: u,
      sub: subscribe(wsClient(server.wsUrl, u.token), LIVE),
    }));
    await server.pubsub.waitForSubscribers('messageAdded', alice.id, 2);
    await server.pubsub.waitForSubscribers('messageAdded', bob.id, 3);
    const other = subscribe(wsClient(server.wsUrl, mallory.token), LIVE);
    await server.pubsub.waitForSubscribers('messageAdded', mallory.id);
    const sent = await send(alice, conversationId, 'to all devices');
    for (const { sub } of devices) {
      const [got] = await sub.take(1);
      expect(got.messageAdded).toMatchObject({
        id: sent.id,
        seq: sent.seq,
        content: 'to all devices',
        sender: { id: alice.id },
      });
    }
    await other.expectSilence(150);
    [...devices.map((d) => d.sub), other].forEach((s) => s.dispose());
  });

  it('filters by conversation when conversationId is given', async () => {
    const elsewhere = await group(alice, [bob], 'elsewhere');
    const only = subscribe(wsClient(server.wsUrl, bob.token), LIVE, { c: conversationId });
    await server.pubsub.waitForSubscribers('messageAdded', bob.id);
    await send(alice, elsewhere, 'not here');
    const sent = await send(alice, conversationId, 'here');
    const [got] = await only.take(1);
    expect(got.messageAdded.id).toBe(sent.id);
    await only.expectSilence(100);
    only.dispose();
  });

  it('replays everything after the cursor, then continues live, once each', async () => {
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push((await send(alice, conversationId, `before ${i}`)).id);
    const resume = subscribe(wsClient(server.wsUrl, bob.token), LIVE, { c: conversationId, after: sent[1] });
    const replayed = await resume.take(3);
    expect(replayed.map((r) => r.messageAdded.id)).toEqual(sent.slice(2));
    const live = await send(alice, conversationId, 'after');
    const [next] = await resume.take(1);
    expect(next.messageAdded.id).toBe(live.id);
    await resume.expectSilence(100);
    resume.dispose();
  });

  it('refuses a non-member with FORBIDDEN, and bad cursors with BAD_USER_INPUT', async () => {
    const client = wsClient(server.wsUrl, mallory.token);
    expect((await subscribe(client, LIVE, { c: conversationId }).errors()).map((e) => e.extensions?.code)).toEqual([
      'FORBIDDEN',
    ]);
    const own = await group(mallory, []);
    const theirs = await history(alice, conversationId, { last: 1 });
    const foreignCursor = subscribe(client, LIVE, { c: own, after: theirs.edges[0].cursor });
    expect((await foreignCursor.errors()).map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    const noConversation = subscribe(client, LIVE, { after: theirs.edges[0].cursor });
    expect((await noConversation.errors()).map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    await client.dispose();
  });

  it('delivers nothing to a member who left, and starts delivering to a member who joined', async () => {
    const [dave] = await signUpMany(server.url, 1);
    const gid = await group(alice, [bob]);
    const bobLive = subscribe(wsClient(server.wsUrl, bob.token), LIVE);
    const daveLive = subscribe(wsClient(server.wsUrl, dave.token), LIVE);
    await server.pubsub.waitForSubscribers('messageAdded', bob.id);
    await server.pubsub.waitForSubscribers('messageAdded', dave.id);
    await send(alice, gid, 'before dave');
    await gqlOk(server.url, LEAVE, { c: gid }, bob.token);
    await gqlOk(server.url, ADD_MEMBERS, { c: gid, u: [dave.id] }, alice.token);
    const welcome = await send(alice, gid, 'welcome dave');
    expect((await daveLive.take(1))[0].messageAdded.id).toBe(welcome.id);
    expect((await bobLive.take(1))[0].messageAdded.content).toBe('before dave');
    await bobLive.expectSilence(100);
    await daveLive.expectSilence(50);
    bobLive.dispose();
    daveLive.dispose();
  });
});
