import WebSocket from 'ws';
import { codes, gql, gqlOk, signUp, subscribe, wsClient } from '../helpers/client';
import { captureLog, startTestServer, useTestServer } from '../helpers/server';
import { createMemoryStore } from '../../src/store/memory';
import { MESSAGE_ADDED_IDS, MESSAGE_ADDED_IN } from '../helpers/operations';

const server = useTestServer();

async function post(body: string, headers: Record<string, string> = {}) {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as any };
}

describe('HTTP', () => {
  it('answers malformed JSON with 400 and BAD_USER_INPUT, as JSON, without internals', async () => {
    const res = await post('{"query": "{ me { id } }"');
    expect(res.status).toBe(400);
    expect(res.json.errors.map((e: any) => e.extensions.code)).toEqual(['BAD_USER_INPUT']);
    expect(res.text).not.toMatch(/at .*\.js|node_modules|SyntaxError/);
  });

  it('answers a document that does not parse with GRAPHQL_PARSE_FAILED', async () => {
    const res = await post(JSON.stringify({ query: '{ me { id ' }));
    expect(res.status).toBe(400);
    expect(res.json.errors.map((e: any) => e.extensions.code)).toEqual(['GRAPHQL_PARSE_FAILED']);
  });

  it('answers a document that does not fit the schema with GRAPHQL_VALIDATION_FAILED', async () => {
    const res = await post(JSON.stringify({ query: '{ me { id password } }' }));
    expect(res.status).toBe(400);
    expect(res.json.errors.map((e: any) => e.extensions.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('answers a request without a query, or with wrongly typed variables, with BAD_USER_INPUT', async () => {
    expect((await post(JSON.stringify({ variables: {} }))).json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const res = await gql(server.url, 'query($n: Int) { searchUsers(prefix: "a", first: $n) { id } }', { n: 'many' });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses documents selecting more fields than the limit, however they are written', async () => {
    const user = await signUp(server.url);
    const aliases = Array.from({ length: 600 }, (_, i) => `a${i}: me { id }`).join(' ');
    expect(codes(await gql(server.url, `{ ${aliases} }`, {}, user.token))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    // Fragments that double at each level would be 2^20 fields once expanded.
    const levels = Array.from(
      { length: 20 },
      (_, i) => `fragment F${i} on User { ...F${i + 1} a${i}: username ...F${i + 1} }`,
    );
    const explosive = `{ me { ...F0 } } ${levels.join(' ')} fragment F20 on User { id }`;
    expect(codes(await gql(server.url, explosive, {}, user.token))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('answers a subscription sent over HTTP with BAD_USER_INPUT naming the ws:// URL, and logs no error', async () => {
    const { log, lines } = captureLog();
    const logged = await startTestServer({ log });
    try {
      const user = await signUp(logged.url, 'http_sub');
      lines.length = 0; // what start-up said
      for (const token of [user.token, undefined]) {
        const res = await gql(logged.url, MESSAGE_ADDED_IDS, {}, token);
        expect(codes(res)).toEqual(['BAD_USER_INPUT']);
        expect(res.errors![0]!.message).toContain(logged.wsUrl);
        expect(res.status).toBe(400);
      }
      expect(lines.filter((line) => line.level !== 'debug')).toEqual([]);
    } finally {
      await logged.stop();
    }
  });

  it('serves a health check', async () => {
    const res = await fetch(server.url.replace('/graphql', '/healthz'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });
});

describe('WebSocket', () => {
  it('answers a bad document with an error and keeps the connection for the next one', async () => {
    const user = await signUp(server.url);
    const client = wsClient(server.wsUrl, user.token);
    const parseErr = await subscribe(client, 'subscription { messageAdded { id ').errors();
    expect(parseErr.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_PARSE_FAILED']);
    const invalid = await subscribe(client, 'subscription { messageAdded { nope } }').errors();
    expect(invalid.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const badVariable = await subscribe(client, MESSAGE_ADDED_IN, {
      c: { x: 1 },
    }).errors();
    expect(badVariable.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    const ok = subscribe(client, MESSAGE_ADDED_IDS);
    await server.pubsub.waitForSubscribers('messageAdded', user.id);
    ok.dispose();
    await client.dispose();
  });

  it('refuses subscriptions beyond the per-connection limit with RATE_LIMITED, and allows one again after a completion', async () => {
    const limited = await startTestServer({ env: { MAX_SUBSCRIPTIONS_PER_CONNECTION: '2' } });
    try {
      const user = await signUp(limited.url);
      const client = wsClient(limited.wsUrl, user.token);
      const first = subscribe(client, MESSAGE_ADDED_IDS);
      subscribe(client, MESSAGE_ADDED_IDS);
      await limited.pubsub.waitForSubscribers('messageAdded', user.id, 2);
      const third = await subscribe(client, MESSAGE_ADDED_IDS).errors();
      expect(third.map((e) => e.extensions?.code)).toEqual(['RATE_LIMITED']);
      expect(third[0]!.message).toMatch(/At most 2 subscriptions/);
      first.dispose();
      // Once the server has ended the first one, there is room again.
      for (
        const deadline = Date.now() + 5000;
        limited.pubsub.subscriberCount('messageAdded', user.id) > 1 && Date.now() < deadline;

      ) {
        await new Promise((r) => setTimeout(r, 10));
      }
      subscribe(client, MESSAGE_ADDED_IDS);
      await limited.pubsub.waitForSubscribers('messageAdded', user.id, 2);
      await client.dispose();
    } finally {
      await limited.stop();
    }
  });

  it('runs queries and mutations over the socket too', async () => {
    const user = await signUp(server.url);
    const client = wsClient(server.wsUrl, user.token);
    const [result] = await subscribe(client, '{ me { id } }').take(1);
    expect(result).toEqual({ me: { id: user.id } });
    await client.dispose();
  });
});

describe('errors', () => {
  it('hides internal failures behind INTERNAL_SERVER_ERROR without details', async () => {
    const store = createMemoryStore();
    const broken = await startTestServer({
      store: {
        ...store,
        friends: {
          ...store.friends,
          listMutual: async () => {
            throw new Error('db password is hunter2');
          },
        },
      },
    });
    try {
      const user = await signUp(broken.url);
      const res = await gql(broken.url, '{ friends { id } }', {}, user.token);
      expect(codes(res)).toEqual(['INTERNAL_SERVER_ERROR']);
      expect(JSON.stringify(res)).not.toMatch(/hunter2|stacktrace|\.ts:/);
    } finally {
      await broken.stop();
    }
  });
});

describe('DataLoader', () => {
  it('resolves 50 messages and their senders with one batched user lookup', async () => {
    const store = createMemoryStore();
    const calls: string[][] = [];
    const counted = await startTestServer({
      store: {
        ...store,
        users: {
          ...store.users,
          getMany: async (ids) => {
            calls.push([...ids]);
            return store.users.getMany(ids);
          },
        },
      },
    });
    try {
      const users = [];
      for (let i = 0; i < 5; i++) users.push(await signUp(counted.url));
      const group = await gqlOk(
        counted.url,
        'mutation($m: [ID!]!) { createGroup(title: "t", memberIds: $m) { id } }',
        { m: users.slice(1).map((u) => u.id) },
        users[0]!.token,
      );
      for (let i = 0; i < 50; i++) {
        await gqlOk(
          counted.url,
          'mutation($c: ID!) { sendMessage(conversationId: $c, content: "x") { id } }',
          { c: group.createGroup.id },
          users[i % 5]!.token,
        );
      }
      calls.length = 0;
      const page = await gqlOk(
        counted.url,
        'query($c: ID!) { messages(conversationId: $c, last: 50) { edges { node { id sender { id username } } } } }',
        { c: group.createGroup.id },
        users[0]!.token,
      );
      expect(page.messages.edges).toHaveLength(50);
      // One lookup for the viewer (authentication), one batched lookup for all senders.
      expect(calls).toHaveLength(2);
      expect(calls[0]).toEqual([users[0]!.id]);
      expect([...calls[1]!].sort()).toEqual(
        users
          .slice(1)
          .map((u) => u.id)
          .sort(),
      );
    } finally {
      await counted.stop();
    }
  });
});

describe('an Authorization value without "Bearer "', () => {
  const server = useTestServer();

  it('is told the expected form, over HTTP and graphql-ws', async () => {
    const user = await signUp(server.url, 'bare');
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: user.token },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors.map((e) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
    expect(body.errors[0]!.message).toMatch(/"Bearer <token>"/);
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: user.token } }));
    const [code, reason] = await new Promise<[number, string]>((resolve) =>
      socket.once('close', (c, r) => resolve([c, String(r)])),
    );
    expect(code).toBe(4401);
    expect(reason).toMatch(/Bearer <token>/);
  });
});
