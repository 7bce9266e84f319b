import { parse } from 'graphql';
import { operationCost } from '../../src/execution/costModel';
import { buildSchema } from '../../src/server/server';
import { createMemoryStore } from '../../src/store/memory';
import { wrapStore } from '../../src/store/store';
import { codes, gql, gqlOk, signUpMany, subscribe, wsClient, type TestUser } from '../helpers/client';
import { CREATE_GROUP, SEND } from '../helpers/operations';
import { useTestServer } from '../helpers/server';

/** Counts history reads, to show that a refused document did no work. */
let pageReads = 0;
const server = useTestServer({
  store: wrapStore(createMemoryStore(), async (call) => call()),
});
const counting = () => {
  const store = server.store;
  const page = store.messages.page.bind(store.messages);
  store.messages.page = async (...args) => {
    pageReads++;
    return page(...args);
  };
};

/** The amplification attack: one small document asking for 50 full pages of full-length messages. */
const amplified = (n = 50) =>
  `query($c: ID!) { ${Array.from({ length: n }, (_, i) => `p${i}: messages(conversationId: $c, last: 100) { edges { node { content } } }`).join(' ')} }`;

const PAGE_OF_100 = `query($c: ID!, $n: Int) {
  messages(conversationId: $c, last: $n) {
    edges { cursor node { id seq content createdAt clientMessageId sender { id username displayName } } }
    pageInfo { hasPreviousPage startCursor }
  }
}`;
const CONVERSATION_LIST = `{
  conversations(first: 20) {
    edges { cursor node { id kind title unreadCount lastReadMessageId
      lastMessage { id seq content createdAt sender { id username displayName } }
      members { id username displayName } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

describe('query cost: what a document may make the server build', () => {
  let alice: TestUser;
  let c: string;
  beforeAll(async () => {
    counting();
    const [a, b] = await signUpMany(server.url, 2, 'cost');
    alice = a!;
    c = (await gqlOk(server.url, CREATE_GROUP, { t: 'big', m: [b!.id] }, alice.token)).createGroup.id;
    for (let i = 0; i < 3; i++) await gqlOk(server.url, SEND, { c, t: 'x'.repeat(100_000) }, alice.token);
  });

  it('refuses 50 aliased pages of messages over HTTP with BAD_USER_INPUT naming the cost and the limit, before any work', async () => {
    const before = pageReads;
    const res = await gql(server.url, amplified(), { c }, alice.token);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors![0]!.message).toMatch(/cost(s)? [\d,]+ .*limit (is )?[\d,]+/);
    expect(pageReads).toBe(before);
    expect(res.data ?? null).toBeNull();
  });

  it('refuses the same over graphql-ws (a subscription may select one root field only, so cannot amplify)', async () => {
    const client = wsClient(server.wsUrl, alice.token);
    const asQuery = subscribe(client, amplified(), { c });
    expect((await asQuery.errors()).map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    await client.dispose();
  });

  it('counts a variable page size by its value, and lists without one at their bound', async () => {
    const pagedBy = amplified(2).replaceAll('last: 100', 'last: $n').replace('$c: ID!', '$c: ID!, $n: Int');
    const withPageSize = async (n: number) => codes(await gql(server.url, pagedBy, { c, n }, alice.token));
    expect(await withPageSize(100)).toEqual(['BAD_USER_INPUT']);
    expect(await withPageSize(3)).toEqual([]);
  });

  it('allows what clients normally ask: a page of 100 messages with senders, 20 conversations with last message and members', async () => {
    expect(codes(await gql(server.url, PAGE_OF_100, { c, n: 100 }, alice.token))).toEqual([]);
    expect(codes(await gql(server.url, CONVERSATION_LIST, {}, alice.token))).toEqual([]);
    const page = await gqlOk(server.url, PAGE_OF_100, { c, n: 100 }, alice.token);
    expect(page.messages.edges.length).toBe(3);
  });

  it('measures a document once, but never reuses a figure that a variable page size decided', () => {
    const schema = buildSchema();
    const paged = parse(PAGE_OF_100);
    const limit = 10_000_000;
    const small = operationCost({ schema, document: paged, operationName: null, variables: { c: '1', n: 1 } }, limit);
    const large = operationCost({ schema, document: paged, operationName: null, variables: { c: '1', n: 100 } }, limit);
    expect(large.cost).toBeGreaterThan(50 * small.cost);
    // Asked again with the small page: still the small figure, not the one remembered last.
    expect(
      operationCost({ schema, document: paged, operationName: null, variables: { c: '2', n: 1 } }, limit).cost,
    ).toBe(small.cost);
    // A figure that reads no variable is the same whatever the variables, and refused again when over the limit.
    const list = parse(CONVERSATION_LIST);
    const first = operationCost({ schema, document: list, operationName: null, variables: {} }, limit);
    const again = operationCost({ schema, document: list, operationName: null, variables: { x: 1 } }, first.cost - 1);
    expect(again.cost).toBe(first.cost);
    expect(again.error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', cost: first.cost, limit: first.cost - 1 });
    // Another schema (another server in this process) measures for itself.
    expect(
      operationCost({ schema: buildSchema(), document: list, operationName: null, variables: {} }, limit).cost,
    ).toBe(first.cost);
  });
});
