import {
  gql,
  gqlOk,
  codes,
  signUpMany,
  subscribe,
  wsClient,
  type SubscriptionQueue,
  type TestUser,
} from '../helpers/client';
import {
  ADD_MEMBERS,
  CONVERSATION_EVENT,
  CREATE_GROUP,
  LEAVE,
  MARK_READ,
  SEND,
  SET_TYPING,
} from '../helpers/operations';
import { useTestServer, type TestServer } from '../helpers/server';

/** Alice's group with Bob and Carol. */
async function trio(server: TestServer, extra = 0) {
  const users = await signUpMany(server.url, 3 + extra, 'events');
  const [alice, bob, carol] = users as [TestUser, TestUser, TestUser];
  const c = (await gqlOk(server.url, CREATE_GROUP, { t: 'g', m: [bob.id, carol.id] }, alice.token)).createGroup.id;
  return { alice, bob, carol, others: users.slice(3), c: c as string };
}

/** `user`'s conversationEvent subscription, live on the server when it returns. */
async function listen(server: TestServer, user: TestUser, c?: string, count = 1) {
  const queue = subscribe(wsClient(server.wsUrl, user.token), CONVERSATION_EVENT, c ? { c } : {});
  await server.pubsub.waitForSubscribers('conversationEvent', user.id, count);
  return queue;
}

const events = async (queue: SubscriptionQueue<any>, n: number, timeoutMs?: number) =>
  (await queue.take(n, timeoutMs)).map((d) => d.conversationEvent);

describe('typing', () => {
  const server = useTestServer();

  it('shows typing to the other members once, and ends it with typing: false', async () => {
    const { alice, bob, carol, c } = await trio(server);
    const [b, a] = [await listen(server, bob), await listen(server, alice)];
    await gqlOk(server.url, SET_TYPING, { c, t: true }, carol.token);
    await gqlOk(server.url, SET_TYPING, { c, t: true }, carol.token);
    expect(await events(b, 1)).toEqual([
      { __typename: 'TypingChanged', conversationId: c, typing: true, user: { id: carol.id } },
    ]);
    await gqlOk(server.url, SET_TYPING, { c, t: false }, carol.token);
    expect((await events(b, 1))[0]).toMatchObject({ typing: false, user: { id: carol.id } });
    expect((await events(a, 2)).map((e) => e.typing)).toEqual([true, false]);
    await b.expectSilence(200);
    b.dispose();
    a.dispose();
  });

  it('is not sent back to the typer', async () => {
    const { bob, c } = await trio(server);
    const b = await listen(server, bob);
    await gqlOk(server.url, SET_TYPING, { c, t: true }, bob.token);
    await b.expectSilence(300);
    b.dispose();
  });

  it('ends when the typer sends a message in that conversation', async () => {
    const { alice, bob, c } = await trio(server);
    const b = await listen(server, bob);
    await gqlOk(server.url, SET_TYPING, { c, t: true }, alice.token);
    expect((await events(b, 1))[0].typing).toBe(true);
    await gqlOk(server.url, SEND, { c, t: 'done typing' }, alice.token);
    // Well before the 6 s expiry would end it.
    expect((await events(b, 1, 2000))[0]).toMatchObject({ typing: false, user: { id: alice.id } });
    b.dispose();
  });

  it('ends by itself 6 s after the last renewal', async () => {
    const { alice, bob, c } = await trio(server);
    const b = await listen(server, bob);
    const started = Date.now();
    await gqlOk(server.url, SET_TYPING, { c, t: true }, alice.token);
    expect((await events(b, 1))[0].typing).toBe(true);
    // A renewal after the 2 s throttle keeps it up: the end comes 6 s after the renewal.
    await new Promise((r) => setTimeout(r, 2100));
    const renewed = Date.now();
    await gqlOk(server.url, SET_TYPING, { c, t: true }, alice.token);
    expect((await events(b, 1, 10_000))[0]).toMatchObject({ typing: false });
    expect(Date.now() - renewed).toBeGreaterThanOrEqual(5900);
    expect(Date.now() - started).toBeLessThan(10_000);
    b.dispose();
  }, 20_000);

  it('absorbs renewals closer than 2 s instead of publishing them', async () => {
    const { alice, bob, c } = await trio(server);
    const channel = await server.pubsub.subscribe('conversationEvent', bob.id);
    for (let i = 0; i < 10; i++) await gqlOk(server.url, SET_TYPING, { c, t: true }, alice.token);
    const first = await channel.next();
    expect(first.value).toMatchObject({ type: 'typing', typing: true });
    // typing: false goes out after a true that went out, once; it grants no new allowance (see test/hostile).
    await gqlOk(server.url, SET_TYPING, { c, t: false }, alice.token);
    await gqlOk(server.url, SET_TYPING, { c, t: false }, alice.token);
    await gqlOk(server.url, SET_TYPING, { c, t: true }, alice.token);
    expect((await channel.next()).value).toMatchObject({ typing: false });
    // After the throttle's window, typing shows again.
    await new Promise((r) => setTimeout(r, 2100));
    await gqlOk(server.url, SET_TYPING, { c, t: true }, alice.token);
    expect((await channel.next()).value).toMatchObject({ typing: true });
    await channel.return();
  });

  it('refuses typing in a conversation of others, and without a token', async () => {
    const { c } = await trio(server);
    const [stranger] = await signUpMany(server.url, 1, 'stranger');
    expect(codes(await gql(server.url, SET_TYPING, { c, t: true }, stranger!.token))).toEqual(['FORBIDDEN']);
    expect(codes(await gql(server.url, SET_TYPING, { c: '12345', t: true }, stranger!.token))).toEqual(['FORBIDDEN']);
    expect(codes(await gql(server.url, SET_TYPING, { c, t: true }))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('read receipts', () => {
  const server = useTestServer();

  it('publishes a read position that moves forward to every member, and nothing when it does not', async () => {
    const { alice, bob, carol, c } = await trio(server);
    const sent = [];
    for (let i = 0; i < 3; i++) sent.push((await gqlOk(server.url, SEND, { c, t: `m${i}` }, alice.token)).sendMessage);
    const [a, b] = [await listen(server, alice), await listen(server, bob)];
    await gqlOk(server.url, MARK_READ, { c, m: sent[1].id }, carol.token);
    const expected = {
      __typename: 'ReadPositionChanged',
      conversationId: c,
      position: { user: { id: carol.id }, lastReadSeq: 2, lastReadMessageId: sent[1].id },
    };
    expect(await events(a, 1)).toEqual([expected]);
    expect(await events(b, 1)).toEqual([expected]);
    await gqlOk(server.url, MARK_READ, { c, m: sent[0].id }, carol.token);
    await gqlOk(server.url, MARK_READ, { c, m: sent[1].id }, carol.token);
    await a.expectSilence(300);
    a.dispose();
    b.dispose();
  });

  it('shows every member read position in member order', async () => {
    const { alice, bob, carol, c } = await trio(server);
    const m = (await gqlOk(server.url, SEND, { c, t: 'hi' }, alice.token)).sendMessage;
    await gqlOk(server.url, MARK_READ, { c, m: m.id }, bob.token);
    const data = await gqlOk(
      server.url,
      'query($c: ID!) { conversation(id: $c) { readPositions { user { id } lastReadSeq lastReadMessageId } } }',
      { c },
      carol.token,
    );
    expect(data.conversation.readPositions).toEqual([
      { user: { id: alice.id }, lastReadSeq: 0, lastReadMessageId: null },
      { user: { id: bob.id }, lastReadSeq: 1, lastReadMessageId: m.id },
      { user: { id: carol.id }, lastReadSeq: 0, lastReadMessageId: null },
    ]);
  });
});

describe('members joining and leaving', () => {
  const server = useTestServer();

  it('tells the members, those who joined included, and not the one who left', async () => {
    const { alice, bob, carol, others, c } = await trio(server, 1);
    const dave = others[0]!;
    const [a, b, d] = [await listen(server, alice), await listen(server, bob), await listen(server, dave)];
    await gqlOk(server.url, ADD_MEMBERS, { c, u: [dave.id, carol.id] }, alice.token);
    const joined = { __typename: 'MembersChanged', conversation: { id: c }, joined: [{ id: dave.id }], left: [] };
    expect(await events(a, 1)).toEqual([joined]);
    expect(await events(d, 1)).toEqual([joined]);
    await gqlOk(server.url, LEAVE, { c }, bob.token);
    const left = { __typename: 'MembersChanged', conversation: { id: c }, joined: [], left: [{ id: bob.id }] };
    expect(await events(a, 1)).toEqual([left]);
    expect(await events(d, 1)).toEqual([left]);
    expect((await events(b, 1))[0].joined).toEqual([{ id: dave.id }]);
    await b.expectSilence(300);
    // Leaving again changes nothing and says nothing.
    await gqlOk(server.url, LEAVE, { c }, bob.token);
    await a.expectSilence(200);
    [a, b, d].forEach((q) => q.dispose());
  });
});

describe('conversationEvent reaches members only', () => {
  const server = useTestServer();

  it('refuses a conversation of others, and ends one the viewer leaves with FORBIDDEN', async () => {
    const { alice, bob, c } = await trio(server);
    const [stranger] = await signUpMany(server.url, 1, 'stranger');
    const refused = subscribe(wsClient(server.wsUrl, stranger!.token), CONVERSATION_EVENT, { c });
    expect((await refused.errors()).map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const one = await listen(server, bob, c);
    await gqlOk(server.url, LEAVE, { c }, bob.token);
    expect((await one.errors()).map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    await gqlOk(server.url, SET_TYPING, { c, t: true }, alice.token);
    refused.dispose();
    one.dispose();
  });

  it('shows nothing of a conversation left, also to a subscription opened afterwards, until rejoined', async () => {
    const { alice, bob, carol, c } = await trio(server);
    const before = await listen(server, bob);
    await gqlOk(server.url, LEAVE, { c }, bob.token);
    const after = await listen(server, bob, undefined, 2);
    // Published to Bob's channel as though he were a member: the streams themselves must not show it.
    await server.pubsub.publish('conversationEvent', bob.id, {
      type: 'typing',
      conversationId: c,
      userId: carol.id,
      typing: true,
    });
    await gqlOk(server.url, SET_TYPING, { c, t: true }, alice.token);
    await before.expectSilence(300);
    await after.expectSilence(0);
    await gqlOk(server.url, ADD_MEMBERS, { c, u: [bob.id] }, alice.token);
    expect((await events(before, 1))[0]).toMatchObject({ __typename: 'MembersChanged', joined: [{ id: bob.id }] });
    expect((await events(after, 1))[0]).toMatchObject({ __typename: 'MembersChanged', joined: [{ id: bob.id }] });
    await gqlOk(server.url, SET_TYPING, { c, t: true }, carol.token);
    expect((await events(after, 1))[0]).toMatchObject({ __typename: 'TypingChanged', user: { id: carol.id } });
    before.dispose();
    after.dispose();
  });

  it('filters by conversationId', async () => {
    const { alice, bob, c } = await trio(server);
    const other = (await gqlOk(server.url, CREATE_GROUP, { t: 'h', m: [bob.id] }, alice.token)).createGroup.id;
    const one = await listen(server, bob, c);
    await gqlOk(server.url, SET_TYPING, { c: other, t: true }, alice.token);
    await gqlOk(server.url, SET_TYPING, { c, t: true }, alice.token);
    expect((await events(one, 1))[0]).toMatchObject({ conversationId: c });
    one.dispose();
  });
});
