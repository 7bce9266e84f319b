/**
 * Issue 20, existence: a stranger who tries conversation and message ids
 * through every operation that takes one, to learn which ids exist. A real id
 * of a conversation they are not in and a made-up one must get the same
 * answer, byte for byte but the request id (FORBIDDEN for conversations,
 * NOT_FOUND for messages); so must a real message id of such a conversation
 * and a made-up one.
 */
import type { Client } from 'graphql-ws';
import { gql, gqlOk, signUpMany, subscribe, wsClient, type GraphQLResponse, type TestUser } from '../helpers/client';
import {
  ADD_MEMBERS,
  CREATE_GROUP,
  LEAVE,
  MARK_READ,
  MESSAGE_ADDED_IN,
  OPEN_DIRECT,
  SEND,
} from '../helpers/operations';
import { useTestServer } from '../helpers/server';

const server = useTestServer();

/** What a client can compare between two answers: everything but the request id, which differs on every request. */
function comparable({ data, errors }: Pick<GraphQLResponse, 'data' | 'errors'>): string {
  return JSON.stringify({
    data: data ?? null,
    errors: errors?.map(({ extensions, ...error }) => {
      const { requestId: _differsAlways, ...rest } = extensions ?? {};
      return { ...error, extensions: rest };
    }),
  });
}

/** An id of the same shape as `id` that nothing has: a Snowflake from an hour before this server started. */
const madeUp = (id: string) => String(BigInt(id) - (3_600_000n << 22n));

type Probe = [name: string, query: string, variables: (id: string) => Record<string, unknown>];

/** Every HTTP operation that takes a conversation id. */
const conversationOperations = (own: () => string, message: () => string): Probe[] => [
  ['conversation', 'query($c: ID!) { conversation(id: $c) { id } }', (c) => ({ c })],
  ['messages', 'query($c: ID!) { messages(conversationId: $c) { edges { cursor } } }', (c) => ({ c })],
  [
    'messages with a cursor',
    'query($c: ID!, $a: ID) { messages(conversationId: $c, first: 5, after: $a) { edges { cursor } } }',
    (c) => ({ c, a: message() }),
  ],
  ['sendMessage', SEND, (c) => ({ c, t: 'hello?' })],
  ['sendMessage with empty content', SEND, (c) => ({ c, t: ' ' })],
  ['markRead', MARK_READ, (c) => ({ c, m: message() })],
  ['addGroupMembers', ADD_MEMBERS, (c) => ({ c, u: [own()] })],
  ['leaveConversation', LEAVE, (c) => ({ c })],
  ['setTyping', 'mutation($c: ID!) { setTyping(conversationId: $c, typing: true) }', (c) => ({ c })],
  ['setTyping false', 'mutation($c: ID!) { setTyping(conversationId: $c, typing: false) }', (c) => ({ c })],
];

/** Every subscription that takes a conversation id. */
const conversationSubscriptions = (message: () => string): Probe[] => [
  ['messageAdded', MESSAGE_ADDED_IN, (c) => ({ c })],
  [
    'messageAdded with after',
    'subscription($c: ID, $a: ID) { messageAdded(conversationId: $c, after: $a) { id } }',
    (c) => ({ c, a: message() }),
  ],
  [
    'messageAdded with positions',
    'subscription($p: [ConversationPosition!]) { messageAdded(positions: $p) { id } }',
    (c) => ({ p: [{ conversationId: c, after: message() }] }),
  ],
  [
    'conversationEvent',
    'subscription($c: ID) { conversationEvent(conversationId: $c) { __typename } }',
    (c) => ({ c }),
  ],
];

/** Every operation that takes a message id, and those that take one as a cursor of the viewer's own conversation. */
const messageOperations = (own: () => string): Probe[] => [
  ['editMessage', 'mutation($m: ID!) { editMessage(messageId: $m, content: "mine now") { id } }', (m) => ({ m })],
  ['deleteMessage', 'mutation($m: ID!) { deleteMessage(messageId: $m) { id } }', (m) => ({ m })],
  ['addReaction', 'mutation($m: ID!) { addReaction(messageId: $m, emoji: "👀") { id } }', (m) => ({ m })],
  ['removeReaction', 'mutation($m: ID!) { removeReaction(messageId: $m, emoji: "👍") { id } }', (m) => ({ m })],
  ['markRead in an own conversation', MARK_READ, (m) => ({ c: own(), m })],
  [
    'messages of an own conversation after it',
    'query($c: ID!, $m: ID) { messages(conversationId: $c, first: 5, after: $m) { edges { cursor } } }',
    (m) => ({ c: own(), m }),
  ],
];

describe('a stranger probing ids', () => {
  let alice: TestUser, bob: TestUser, stranger: TestUser;
  /** A group and a direct conversation of others, a message in the group, and a group of the stranger's own. */
  let group: string, direct: string, message: string, own: string;
  let client: Client;

  beforeAll(async () => {
    [alice, bob, stranger] = (await signUpMany(server.url, 3, 'probe')) as [TestUser, TestUser, TestUser];
    group = (await gqlOk(server.url, CREATE_GROUP, { t: 'Private', m: [bob.id] }, alice.token)).createGroup.id;
    direct = (await gqlOk(server.url, OPEN_DIRECT, { u: bob.id }, alice.token)).openDirectConversation.id;
    message = (await gqlOk(server.url, SEND, { c: group, t: 'secret' }, alice.token)).sendMessage.id;
    await gqlOk(
      server.url,
      'mutation($m: ID!) { addReaction(messageId: $m, emoji: "👍") { id } }',
      { m: message },
      bob.token,
    );
    own = (await gqlOk(server.url, CREATE_GROUP, { t: 'Mine', m: [] }, stranger.token)).createGroup.id;
    await gqlOk(server.url, SEND, { c: own, t: 'mine' }, stranger.token);
    client = wsClient(server.wsUrl, stranger.token);
  });
  afterAll(async () => {
    await client?.dispose();
  });

  const ask = (query: string, variables: Record<string, unknown>) => gql(server.url, query, variables, stranger.token);
  /** A subscription's answer: its errors, or the first event, or nothing within a second. */
  async function askLive(query: string, variables: Record<string, unknown>): Promise<GraphQLResponse> {
    const sub = subscribe(client, query, variables);
    try {
      return { status: 200, errors: await sub.errors(1000) };
    } catch {
      return { status: 200, data: { started: true } };
    } finally {
      sub.dispose();
    }
  }

  describe.each([
    ['a group of others', () => group],
    ['a direct conversation of others', () => direct],
  ])('%s and a made-up conversation id', (_kind, real) => {
    it.each(
      conversationOperations(
        () => stranger.id,
        () => message,
      ),
    )('%s answers both alike', async (_name, query, variables) => {
      const [forReal, forMadeUp] = [await ask(query, variables(real())), await ask(query, variables(madeUp(real())))];
      expect(comparable(forReal)).toBe(comparable(forMadeUp));
    });

    it.each(conversationSubscriptions(() => message))('%s answers both alike', async (_name, query, variables) => {
      const forReal = await askLive(query, variables(real()));
      const forMadeUp = await askLive(query, variables(madeUp(real())));
      expect(comparable(forReal)).toBe(comparable(forMadeUp));
      expect(forReal.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    });
  });

  it.each(
    conversationOperations(
      () => stranger.id,
      () => message,
    ).filter(([name]) => name !== 'leaveConversation'),
  )('%s is FORBIDDEN, saying only that the viewer is not a member', async (_name, query, variables) => {
    const res = await ask(query, variables(madeUp(group)));
    expect(res.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([
      ['FORBIDDEN', 'You are not a member of this conversation.'],
    ]);
  });

  it('leaveConversation of a conversation the viewer is not in is done already, whatever the id', async () => {
    for (const c of [group, direct, madeUp(group)]) {
      expect(await ask(LEAVE, { c })).toMatchObject({ data: { leaveConversation: true } });
    }
    // And it changed nothing: the members are who they were.
    const members = await gqlOk(
      server.url,
      'query($c: ID!) { conversation(id: $c) { members { id } } }',
      {
        c: group,
      },
      alice.token,
    );
    expect(members.conversation.members.map((m: { id: string }) => m.id)).toEqual([alice.id, bob.id]);
  });

  it.each(messageOperations(() => own))(
    '%s answers a message of others and a made-up message id alike',
    async (_name, query, variables) => {
      const [forReal, forMadeUp] = [await ask(query, variables(message)), await ask(query, variables(madeUp(message)))];
      expect(comparable(forReal)).toBe(comparable(forMadeUp));
      expect(forReal.errors).toHaveLength(1);
    },
  );

  it('messageAdded in an own conversation after a message of others answers it as a made-up one', async () => {
    const query = 'subscription($c: ID, $a: ID) { messageAdded(conversationId: $c, after: $a) { id } }';
    const forReal = await askLive(query, { c: own, a: message });
    const forMadeUp = await askLive(query, { c: own, a: madeUp(message) });
    expect(comparable(forReal)).toBe(comparable(forMadeUp));
    expect(forReal.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });

  it('leaves the probed conversations as they were', async () => {
    const history = await gqlOk(
      server.url,
      'query($c: ID!) { messages(conversationId: $c) { edges { node { content reactions { emoji count } } } } }',
      { c: group },
      bob.token,
    );
    expect(history.messages.edges).toEqual([{ node: { content: 'secret', reactions: [{ emoji: '👍', count: 1 }] } }]);
  });
});
