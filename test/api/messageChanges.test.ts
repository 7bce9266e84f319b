import { wrapStore, type Store } from '../../src/store/store';
import { createMemoryStore } from '../../src/store/memory';
import { gql, gqlOk, codes, signUpMany, subscribe, wsClient, type TestUser } from '../helpers/client';
import { CONVERSATION_EVENT, CREATE_GROUP, DELETE, EDIT, HISTORY, REACT, SEND, UNREACT } from '../helpers/operations';
import { startTestServer, useTestServer, type TestServer } from '../helpers/server';

async function trio(server: TestServer) {
  const [alice, bob, carol] = (await signUpMany(server.url, 3, 'changes')) as [TestUser, TestUser, TestUser];
  const c = (await gqlOk(server.url, CREATE_GROUP, { t: 'g', m: [bob.id, carol.id] }, alice.token)).createGroup
    .id as string;
  const m = (await gqlOk(server.url, SEND, { c, t: 'original' }, alice.token)).sendMessage as { id: string };
  return { alice, bob, carol, c, m: m.id };
}

const LAST_MESSAGE = 'query($c: ID!) { conversation(id: $c) { lastMessage { id content editedAt deletedAt } } }';

describe('editing and deleting messages', () => {
  const server = useTestServer();

  it('edits: history, lastMessage and the members live show the new content, with the same id and seq', async () => {
    const { alice, bob, c, m } = await trio(server);
    const live = subscribe(wsClient(server.wsUrl, bob.token), CONVERSATION_EVENT);
    await server.pubsub.waitForSubscribers('conversationEvent', bob.id);
    const edited = (await gqlOk(server.url, EDIT, { m, t: 'changed' }, alice.token)).editMessage;
    expect(edited).toMatchObject({ id: m, seq: 1, content: 'changed', deletedAt: null });
    expect(Date.parse(edited.editedAt)).not.toBeNaN();
    expect((await live.take(1))[0].conversationEvent).toEqual({ __typename: 'MessageUpdated', message: edited });
    expect((await gqlOk(server.url, HISTORY, { c }, bob.token)).messages.edges.map((e: any) => e.node)).toEqual([
      edited,
    ]);
    expect((await gqlOk(server.url, LAST_MESSAGE, { c }, bob.token)).conversation.lastMessage).toMatchObject({
      content: 'changed',
      editedAt: edited.editedAt,
    });
    live.dispose();
  });

  it('deletes for everyone, idempotently, leaving no gap in seq, and refuses to edit or react afterwards', async () => {
    const { alice, bob, c, m } = await trio(server);
    await gqlOk(server.url, REACT, { m, e: '👍' }, bob.token);
    await gqlOk(server.url, SEND, { c, t: 'second' }, alice.token);
    const deleted = (await gqlOk(server.url, DELETE, { m }, alice.token)).deleteMessage;
    expect(deleted).toMatchObject({ id: m, seq: 1, content: '', reactions: [] });
    expect((await gqlOk(server.url, DELETE, { m }, alice.token)).deleteMessage).toEqual(deleted);
    const history = (await gqlOk(server.url, HISTORY, { c }, bob.token)).messages.edges.map((e: any) => e.node);
    expect(history.map((n: any) => [n.seq, n.content, n.deletedAt !== null])).toEqual([
      [1, '', true],
      [2, 'second', false],
    ]);
    const edit = await gql(server.url, EDIT, { m, t: 'back' }, alice.token);
    expect(codes(edit)).toEqual(['BAD_USER_INPUT']);
    expect(codes(await gql(server.url, REACT, { m, e: '👍' }, bob.token))).toEqual(['BAD_USER_INPUT']);
    expect((await gqlOk(server.url, HISTORY, { c }, bob.token)).messages.edges[0].node).toEqual(deleted);
  });

  it("refuses another's message (FORBIDDEN), a stranger (NOT_FOUND), bad content, and changes nothing", async () => {
    const { alice, bob, c, m } = await trio(server);
    const [stranger] = await signUpMany(server.url, 1, 'stranger');
    expect(codes(await gql(server.url, EDIT, { m, t: 'mine now' }, bob.token))).toEqual(['FORBIDDEN']);
    expect(codes(await gql(server.url, DELETE, { m }, bob.token))).toEqual(['FORBIDDEN']);
    expect(codes(await gql(server.url, EDIT, { m, t: 'x' }, stranger!.token))).toEqual(['NOT_FOUND']);
    expect(codes(await gql(server.url, DELETE, { m }, stranger!.token))).toEqual(['NOT_FOUND']);
    expect(codes(await gql(server.url, REACT, { m, e: '👍' }, stranger!.token))).toEqual(['NOT_FOUND']);
    expect(codes(await gql(server.url, EDIT, { m: '123', t: 'x' }, alice.token))).toEqual(['NOT_FOUND']);
    expect(codes(await gql(server.url, EDIT, { m, t: '   ' }, alice.token))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await gql(server.url, EDIT, { m, t: 'x'.repeat(100_001) }, alice.token))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await gql(server.url, EDIT, { m, t: 'x' }))).toEqual(['UNAUTHENTICATED']);
    expect((await gqlOk(server.url, HISTORY, { c }, alice.token)).messages.edges[0].node).toMatchObject({
      content: 'original',
      editedAt: null,
      deletedAt: null,
      reactions: [],
    });
  });
});

describe('reactions', () => {
  const server = useTestServer();

  it('adds and removes idempotently, counts per emoji in order of first use, and tells the viewer apart', async () => {
    const { alice, bob, carol, c, m } = await trio(server);
    const live = subscribe(wsClient(server.wsUrl, carol.token), CONVERSATION_EVENT);
    await server.pubsub.waitForSubscribers('conversationEvent', carol.id);
    await gqlOk(server.url, REACT, { m, e: '👍' }, bob.token);
    await gqlOk(server.url, REACT, { m, e: '🎉' }, alice.token);
    const again = (await gqlOk(server.url, REACT, { m, e: '👍' }, alice.token)).addReaction;
    expect(again.reactions).toEqual([
      { emoji: '👍', count: 2, reactedByViewer: true },
      { emoji: '🎉', count: 1, reactedByViewer: true },
    ]);
    expect((await gqlOk(server.url, REACT, { m, e: '👍' }, alice.token)).addReaction).toEqual(again);
    const seenByCarol = (await gqlOk(server.url, HISTORY, { c }, carol.token)).messages.edges[0].node.reactions;
    expect(seenByCarol).toEqual([
      { emoji: '👍', count: 2, reactedByViewer: false },
      { emoji: '🎉', count: 1, reactedByViewer: false },
    ]);
    const updates = (await live.take(3)).map((d) => d.conversationEvent.message.reactions);
    expect(updates.at(-1)).toEqual(seenByCarol);
    await live.expectSilence(200);
    const removed = (await gqlOk(server.url, UNREACT, { m, e: '🎉' }, alice.token)).removeReaction;
    expect(removed.reactions).toEqual([{ emoji: '👍', count: 2, reactedByViewer: true }]);
    expect((await gqlOk(server.url, UNREACT, { m, e: '🎉' }, alice.token)).removeReaction).toEqual(removed);
    expect((await live.take(1))[0].conversationEvent.message.reactions).toEqual([
      { emoji: '👍', count: 2, reactedByViewer: false },
    ]);
    await live.expectSilence(200);
    live.dispose();
  });

  it('takes exactly one emoji, and refuses a 21st distinct one', async () => {
    const { alice, m } = await trio(server);
    for (const e of ['', 'a', '1', '👍👍', '👍 ', ':+1:', '😀\u0301', '👍'.repeat(20)]) {
      expect({ e, codes: codes(await gql(server.url, REACT, { m, e }, alice.token)) }).toEqual({
        e,
        codes: ['BAD_USER_INPUT'],
      });
    }
    for (const e of ['👍🏽', '👨‍👩‍👧‍👦', '🇫🇷', '1️⃣', '❤️']) await gqlOk(server.url, REACT, { m, e }, alice.token);
    const more = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰'];
    for (const e of more) await gqlOk(server.url, REACT, { m, e }, alice.token);
    const refused = await gql(server.url, REACT, { m, e: '🚀' }, alice.token);
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
    expect(refused.errors![0]!.message).toMatch(/20/);
  });

  it('counts 20 members reacting at once as 20, and one member reacting 10 times at once as 1', async () => {
    const users = await signUpMany(server.url, 20, 'crowd');
    const c = (
      await gqlOk(server.url, CREATE_GROUP, { t: 'crowd', m: users.slice(1).map((u) => u.id) }, users[0]!.token)
    ).createGroup.id;
    const m = (await gqlOk(server.url, SEND, { c, t: 'vote' }, users[0]!.token)).sendMessage.id;
    await Promise.all(users.map((u) => gqlOk(server.url, REACT, { m, e: '👍' }, u.token)));
    await Promise.all(Array.from({ length: 10 }, () => gqlOk(server.url, REACT, { m, e: '🔥' }, users[1]!.token)));
    const node = (await gqlOk(server.url, HISTORY, { c }, users[1]!.token)).messages.edges[0].node;
    expect(node.reactions).toEqual([
      { emoji: '👍', count: 20, reactedByViewer: true },
      { emoji: '🔥', count: 1, reactedByViewer: true },
    ]);
  });
});

describe('history stays one store call per page with edits and reactions', () => {
  let server: TestServer;
  const calls: string[] = [];
  beforeAll(async () => {
    const inner = createMemoryStore();
    const counted: Store = wrapStore(inner, (call) => call());
    for (const part of ['messages', 'conversations', 'blocks'] as const) {
      const target = counted[part] as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      for (const name of Object.keys(target)) {
        const fn = target[name]!;
        target[name] = (...args) => {
          calls.push(`${part}.${name}`);
          return fn(...args);
        };
      }
    }
    server = await startTestServer({ store: counted });
  });
  afterAll(() => server.stop());

  it('reads a page of 20 conversations with every read position in one call, and history with reactions in one', async () => {
    const [alice, ...others] = await signUpMany(server.url, 4, 'count');
    for (let i = 0; i < 20; i++) {
      const c = (await gqlOk(server.url, CREATE_GROUP, { t: `g${i}`, m: others.map((o) => o.id) }, alice!.token))
        .createGroup.id;
      const m = (await gqlOk(server.url, SEND, { c, t: 'x' }, alice!.token)).sendMessage.id;
      await gqlOk(server.url, REACT, { m, e: '👍' }, others[0]!.token);
    }
    calls.length = 0;
    const page = await gqlOk(
      server.url,
      '{ conversations(first: 20) { edges { node { id readPositions { user { id } lastReadSeq } } } } }',
      {},
      alice!.token,
    );
    expect(page.conversations.edges).toHaveLength(20);
    expect(calls.filter((c) => c === 'conversations.readPositions')).toHaveLength(1);
    const c = page.conversations.edges[0].node.id;
    calls.length = 0;
    await gqlOk(server.url, HISTORY, { c }, alice!.token);
    expect(calls.filter((name) => name.startsWith('messages.'))).toEqual(['messages.page']);
  });
});
