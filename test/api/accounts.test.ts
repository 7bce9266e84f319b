import { backendsAvailable } from '../helpers/backends';
import { useCluster } from '../helpers/cluster';
import { codes, gql, gqlOk, signUp, subscribe, wsClient, type TestUser } from '../helpers/client';
import { ADD_FRIEND, CONVERSATION_EVENT, CREATE_GROUP, OPEN_DIRECT, SEND } from '../helpers/operations';
import { useTestServer } from '../helpers/server';

const DELETE_ACCOUNT = 'mutation($p: String!) { deleteAccount(password: $p) }';
const SIGN_UP = 'mutation($u: String!, $p: String!) { signUp(username: $u, password: $p) { token } }';
const LOG_IN = 'mutation($u: String!, $p: String!) { logIn(username: $u, password: $p) { token } }';
const MEMBERS = 'query($c: ID!) { conversation(id: $c) { members { id } } }';

/** Every message of a conversation, as `reader` sees it, oldest first. */
async function history(url: string, conversationId: string, reader: TestUser) {
  const all: any[] = [];
  let after: string | undefined;
  for (;;) {
    const page = (
      await gqlOk(
        url,
        `query($c: ID!, $a: ID) { messages(conversationId: $c, first: 100, after: $a) {
          edges { node { id seq content deletedAt sender { id deleted displayName } } } pageInfo { hasNextPage endCursor } } }`,
        { c: conversationId, a: after },
        reader.token,
      )
    ).messages;
    all.push(...page.edges.map((e: any) => e.node));
    if (!page.pageInfo.hasNextPage) return all;
    after = page.pageInfo.endCursor;
  }
}

describe('deleteAccount', () => {
  const server = useTestServer();

  it('ends the sessions, erases the messages in place, leaves the groups and leaves a "Deleted user" whose name stays taken', async () => {
    const [gone, friend, third] = [
      await signUp(server.url, 'gone'),
      await signUp(server.url, 'fr'),
      await signUp(server.url, 'th'),
    ];
    await gqlOk(server.url, ADD_FRIEND, { u: friend.id }, gone.token);
    await gqlOk(server.url, ADD_FRIEND, { u: gone.id }, friend.token);
    const group = (await gqlOk(server.url, CREATE_GROUP, { t: 'g', m: [friend.id, third.id] }, gone.token)).createGroup
      .id;
    const direct = (await gqlOk(server.url, OPEN_DIRECT, { u: friend.id }, gone.token)).openDirectConversation.id;
    for (const [who, text] of [
      [gone, 'one'],
      [friend, 'two'],
      [gone, 'three'],
      [third, 'four'],
    ] as const) {
      await gqlOk(server.url, SEND, { c: group, t: text }, who.token);
    }
    await gqlOk(server.url, SEND, { c: direct, t: 'hi' }, gone.token);
    await gqlOk(
      server.url,
      'mutation($t: String!) { registerPushToken(token: $t, platform: ANDROID) }',
      { t: 'device-token-of-gone' },
      gone.token,
    );
    const goneClient = wsClient(server.wsUrl, gone.token);
    const closed = new Promise<number>((resolve) => goneClient.on('closed', (event: any) => resolve(event.code)));
    const goneSub = subscribe(goneClient, 'subscription { messageAdded { id } }');
    const thirdClient = wsClient(server.wsUrl, third.token);
    const events = subscribe(thirdClient, CONVERSATION_EVENT, { c: group });
    await server.pubsub.waitForSubscribers('messageAdded', gone.id);
    await server.pubsub.waitForSubscribers('conversationEvent', third.id);

    expect(codes(await gql(server.url, DELETE_ACCOUNT, { p: 'wrong-password' }, gone.token))).toEqual([
      'UNAUTHENTICATED',
    ]);
    expect((await gqlOk(server.url, DELETE_ACCOUNT, { p: 'password-123' }, gone.token)).deleteAccount).toBe(true);

    expect(await closed).toBe(4401);
    goneSub.dispose();
    // Members heard of each erasure as of a deleteMessage.
    const erased = await events.take(2, 5000);
    expect(erased.map((e: any) => e.conversationEvent.message?.content)).toEqual(['', '']);
    events.dispose();
    await thirdClient.dispose();

    const messages = await history(server.url, group, friend);
    expect(messages.map((m) => [m.seq, m.content, m.sender.id])).toEqual([
      [1, '', gone.id],
      [2, 'two', friend.id],
      [3, '', gone.id],
      [4, 'four', third.id],
    ]);
    expect(messages[0].deletedAt).not.toBeNull();
    expect(messages[0].sender).toEqual({ id: gone.id, deleted: true, displayName: 'Deleted user' });
    expect((await history(server.url, direct, friend)).map((m) => m.content)).toEqual(['']);
    expect(
      (await gqlOk(server.url, MEMBERS, { c: group }, friend.token)).conversation.members.map((m: any) => m.id),
    ).toEqual([friend.id, third.id]);
    expect((await gqlOk(server.url, '{ friends { id } }', {}, friend.token)).friends).toEqual([]);
    expect(await server.store.pushTokens.listForUsers([gone.id])).toEqual([]);
    expect((await server.store.deletions.get(gone.id))?.finishedAt).toBeInstanceOf(Date);

    expect(codes(await gql(server.url, '{ me { id } }', {}, gone.token))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await gql(server.url, LOG_IN, { u: gone.username, p: 'password-123' }))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await gql(server.url, SIGN_UP, { u: gone.username, p: 'password-123' }))).toEqual(['CONFLICT']);
  });
});

const run = backendsAvailable('the interrupted account deletion suite');
(run ? describe : describe.skip)('an account deletion cut short by SIGKILL (MongoDB and Redis)', () => {
  const cluster = useCluster();

  it('is finished by the next process to start', async () => {
    const a = await cluster.current.start({ TEST_KILL_AFTER_DELETION_STEPS: '5' });
    const [gone, other] = [await signUp(a.url, 'gone'), await signUp(a.url, 'other')];
    const group = (await gqlOk(a.url, CREATE_GROUP, { t: 'g', m: [other.id] }, gone.token)).createGroup.id;
    for (let i = 0; i < 150; i++) await gqlOk(a.url, SEND, { c: group, t: `m${i}` }, gone.token);
    await gqlOk(a.url, SEND, { c: group, t: 'mine' }, other.token);
    // Killed after its fifth step: the first page of 100 messages erased, 50 left, the group not left.
    await expect(gql(a.url, DELETE_ACCOUNT, { p: 'password-123' }, gone.token)).rejects.toThrow();
    expect(await a.exited).toBe('SIGKILL');

    const b = await cluster.current.start();
    const deadline = Date.now() + 20_000;
    let messages: any[] = [];
    let members: string[] = [];
    while (Date.now() < deadline) {
      messages = await history(b.url, group, other);
      members = (await gqlOk(b.url, MEMBERS, { c: group }, other.token)).conversation.members.map((m: any) => m.id);
      if (members.length === 1 && messages.every((m) => m.sender.id !== gone.id || m.content === '')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(members).toEqual([other.id]);
    expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: 151 }, (_, i) => i + 1));
    expect(messages.filter((m) => m.content !== '').map((m) => m.content)).toEqual(['mine']);
    expect(messages[0].sender).toMatchObject({ id: gone.id, deleted: true, displayName: 'Deleted user' });
    expect(b.output()).toMatch(/resuming an unfinished one/);
    b.child.kill('SIGTERM');
    await b.exited;
  }, 120_000);
});
