import { createMemoryStore } from '../../src/store/memory';
import { codes, gql, gqlOk, signUpMany, subscribe, wsClient } from '../helpers/client';
import { CREATE_GROUP, DELETE, SEND } from '../helpers/operations';
import { startTestServer, type TestServer } from '../helpers/server';

const REPLY = `mutation($c: ID!, $t: String!, $r: ID) {
  sendMessage(conversationId: $c, content: $t, replyToId: $r) { id replyTo { id content } mentions { id username } }
}`;
const HISTORY = `query($c: ID!, $n: Int) {
  messages(conversationId: $c, last: $n) { edges { node { id replyTo { id } mentions { username } } } }
}`;

describe('replies, mentions and profiles', () => {
  let server: TestServer;
  /** Calls of the store's messages.getMany, to see that a page of replies reads its originals in one batch. */
  const reads: string[][] = [];
  beforeAll(async () => {
    const store = createMemoryStore();
    const getMany = store.messages.getMany.bind(store.messages);
    store.messages.getMany = (ids) => {
      reads.push([...ids]);
      return getMany(ids);
    };
    server = await startTestServer({ store });
  });
  afterAll(async () => {
    await server.stop();
  });

  const group = async (token: string, memberIds: string[]) =>
    (await gqlOk(server.url, CREATE_GROUP, { t: 'g', m: memberIds }, token)).createGroup.id as string;

  it('replies to a message of the same conversation; another conversation’s or an unknown one is BAD_USER_INPUT and nothing is stored', async () => {
    const [alice, bob] = await signUpMany(server.url, 2, 'reply');
    const c = await group(alice!.token, [bob!.id]);
    const other = await group(alice!.token, []);
    const first = (await gqlOk(server.url, SEND, { c, t: 'lunch?' }, alice!.token)).sendMessage;
    const elsewhere = (await gqlOk(server.url, SEND, { c: other, t: 'elsewhere' }, alice!.token)).sendMessage;
    const reply = (await gqlOk(server.url, REPLY, { c, t: 'yes', r: first.id }, bob!.token)).sendMessage;
    expect(reply.replyTo).toEqual({ id: first.id, content: 'lunch?' });
    for (const r of [elsewhere.id, '123456789', 'x']) {
      const refused = await gql(server.url, REPLY, { c, t: 'no', r }, bob!.token);
      expect([r, codes(refused)]).toEqual([r, ['BAD_USER_INPUT']]);
    }
    const history = (await gqlOk(server.url, HISTORY, { c, n: 10 }, bob!.token)).messages.edges;
    expect(history.map((e: any) => e.node.id)).toEqual([first.id, reply.id]);
    // The original deleted: the reply stays, pointing at nothing.
    await gqlOk(server.url, DELETE, { m: first.id }, alice!.token);
    const after = (await gqlOk(server.url, HISTORY, { c, n: 1 }, bob!.token)).messages.edges[0].node;
    expect(after).toMatchObject({ id: reply.id, replyTo: null });
  });

  it('a page of 100 replies reads the messages they reply to in one batched store call', async () => {
    const [alice] = await signUpMany(server.url, 1, 'batch');
    const c = await group(alice!.token, []);
    const originals: string[] = [];
    for (let i = 0; i < 100; i++)
      originals.push((await gqlOk(server.url, SEND, { c, t: `o${i}` }, alice!.token)).sendMessage.id);
    for (let i = 0; i < 100; i++) await gqlOk(server.url, REPLY, { c, t: `r${i}`, r: originals[i] }, alice!.token);
    reads.length = 0;
    const page = (await gqlOk(server.url, HISTORY, { c, n: 100 }, alice!.token)).messages.edges;
    expect(page.map((e: any) => e.node.replyTo.id)).toEqual(originals);
    expect(reads).toHaveLength(1);
    expect(reads[0]!.sort()).toEqual([...originals].sort());
  });

  it('mentions the members named as @username, once each, in order; not strangers, not addresses', async () => {
    const [alice, bob, carol, stranger] = await signUpMany(server.url, 4, 'mention');
    const c = await group(alice!.token, [bob!.id, carol!.id]);
    const text = `@${carol!.username.toUpperCase()} and @${bob!.username}, ask @${stranger!.username} or mail@${bob!.username} @${carol!.username}`;
    const sent = (await gqlOk(server.url, REPLY, { c, t: text }, alice!.token)).sendMessage;
    expect(sent.mentions.map((u: any) => u.username)).toEqual([carol!.username, bob!.username]);
    expect((await gqlOk(server.url, REPLY, { c, t: 'no one' }, alice!.token)).sendMessage.mentions).toEqual([]);
  });

  it('live subscribers get the reply and the mentions with the message', async () => {
    const [alice, bob] = await signUpMany(server.url, 2, 'livereply');
    const c = await group(alice!.token, [bob!.id]);
    const first = (await gqlOk(server.url, SEND, { c, t: 'q' }, alice!.token)).sendMessage;
    const client = wsClient(server.wsUrl, bob!.token);
    const live = subscribe(
      client,
      'subscription($c: ID) { messageAdded(conversationId: $c) { id replyTo { id } mentions { username } } }',
      { c },
    );
    await server.pubsub.waitForSubscribers('messageAdded', bob!.id);
    const sent = (await gqlOk(server.url, REPLY, { c, t: `@${bob!.username} a`, r: first.id }, alice!.token))
      .sendMessage;
    const [got] = await live.take(1);
    expect(got.messageAdded).toEqual({
      id: sent.id,
      replyTo: { id: first.id },
      mentions: [{ username: bob!.username }],
    });
    live.dispose();
    await client.dispose();
  });

  it('updateProfile changes the display name as others see it, with the signUp rules', async () => {
    const [alice, bob] = await signUpMany(server.url, 2, 'profile');
    const UPDATE = 'mutation($d: String!) { updateProfile(displayName: $d) { id displayName } }';
    expect((await gqlOk(server.url, UPDATE, { d: '  Alice\u0301   Liddell ' }, alice!.token)).updateProfile).toEqual({
      id: alice!.id,
      displayName: 'Alicé Liddell',
    });
    const seen = await gqlOk(
      server.url,
      'query($u: ID!) { user(id: $u) { displayName } }',
      { u: alice!.id },
      bob!.token,
    );
    expect(seen.user.displayName).toBe('Alicé Liddell');
    for (const bad of ['', '\u3164\u3164', 'x'.repeat(65), 'a\u202eb']) {
      expect([bad, codes(await gql(server.url, UPDATE, { d: bad }, alice!.token))]).toEqual([bad, ['BAD_USER_INPUT']]);
    }
    expect(codes(await gql(server.url, UPDATE, { d: 'Anon' }))).toEqual(['UNAUTHENTICATED']);
  });
});
