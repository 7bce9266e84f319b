import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  type GraphQLInputType,
} from 'graphql';
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import { codes, gql, gqlOk, signUp, signUpMany, subscribe, uniqueName, wsClient } from '../helpers/client';
import { TEST_JWT_SECRET, startTestServer, useTestServer } from '../helpers/server';
import { ADD_FRIEND, MESSAGE_ADDED_IDS, PRESENCE, REMOVE_FRIEND } from '../helpers/operations';

const server = useTestServer();

const SIGN_UP = `mutation($u: String!, $p: String!, $d: String) {
  signUp(username: $u, password: $p, displayName: $d) { token user { id username displayName presence { status } } }
}`;
const LOG_IN =
  'mutation($u: String!, $p: String!) { logIn(username: $u, password: $p) { token user { id username } } }';

describe('signUp and logIn', () => {
  it('creates an account, stores the username lowercase, and logs in with either case', async () => {
    const name = uniqueName('Mixed').replace('mixed', 'MiXeD');
    const up = await gqlOk(server.url, SIGN_UP, { u: name, p: 'long enough', d: '  Ada   Lovelace ' });
    expect(up.signUp.user).toEqual({
      id: expect.any(String),
      username: name.toLowerCase(),
      displayName: 'Ada Lovelace',
      presence: null,
    });
    const me = await gqlOk(server.url, '{ me { id username displayName } }', {}, up.signUp.token);
    expect(me.me).toEqual({ id: up.signUp.user.id, username: name.toLowerCase(), displayName: 'Ada Lovelace' });
    const login = await gqlOk(server.url, LOG_IN, { u: name.toUpperCase(), p: 'long enough' });
    expect(login.logIn.user.id).toBe(up.signUp.user.id);
    expect((await gqlOk(server.url, '{ me { id } }', {}, login.logIn.token)).me.id).toBe(up.signUp.user.id);
  });

  it('keeps emoji sequences that need joiners and tags in display names', async () => {
    for (const d of ['👩‍💻 Dev', '🏳️‍🌈', '👩🏽‍🚀 Ana', '🏴󠁧󠁢󠁳󠁣󠁴󠁿 Scot']) {
      expect((await gqlOk(server.url, SIGN_UP, { u: uniqueName(), p: 'long enough', d })).signUp.user.displayName).toBe(
        d,
      );
    }
  });

  it('defaults the display name to the username', async () => {
    const name = uniqueName();
    expect((await gqlOk(server.url, SIGN_UP, { u: name, p: 'long enough' })).signUp.user.displayName).toBe(name);
  });

  it('refuses a taken username with CONFLICT, also when two sign up at once', async () => {
    const name = uniqueName();
    const results = await Promise.all([1, 2, 3].map(() => gql(server.url, SIGN_UP, { u: name, p: 'long enough' })));
    expect(results.filter((r) => r.data?.signUp).length).toBe(1);
    expect(results.flatMap(codes)).toEqual(['CONFLICT', 'CONFLICT']);
    expect(codes(await gql(server.url, SIGN_UP, { u: name.toUpperCase(), p: 'other password' }))).toEqual(['CONFLICT']);
  });

  it.each([
    ['a short username', { u: 'ab', p: 'long enough' }],
    ['a long username', { u: 'a'.repeat(33), p: 'long enough' }],
    ['a username with symbols', { u: 'bad-name!', p: 'long enough' }],
    ['a short password', { u: uniqueName(), p: '1234567' }],
    ['an empty display name', { u: uniqueName(), p: 'long enough', d: '   ' }],
    ['a display name with a right-to-left override', { u: uniqueName(), p: 'long enough', d: 'evil\u202Egnp.exe' }],
    ['a display name with a zero-width space', { u: uniqueName(), p: 'long enough', d: 'a\u200Bb' }],
    ['a display name with a lone surrogate', { u: uniqueName(), p: 'long enough', d: 'bad \uD800 name' }],
    ['a display name with a joiner outside emoji', { u: uniqueName(), p: 'long enough', d: 'a\u200Db' }],
    ['a display name with control characters', { u: uniqueName(), p: 'long enough', d: 'a\u0007b' }],
  ])('refuses %s with BAD_USER_INPUT', async (_name, vars) => {
    const res = await gql(server.url, SIGN_UP, vars);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.data).toBeNull();
    if (vars.u.length >= 3)
      expect(codes(await gql(server.url, LOG_IN, { u: vars.u, p: vars.p }))).toEqual(['UNAUTHENTICATED']);
  });

  it('gives the same UNAUTHENTICATED error for a wrong password and an unknown user', async () => {
    const user = await signUp(server.url);
    const wrong = await gql(server.url, LOG_IN, { u: user.username, p: 'not the password' });
    const unknown = await gql(server.url, LOG_IN, { u: uniqueName(), p: 'not the password' });
    expect(codes(wrong)).toEqual(['UNAUTHENTICATED']);
    // Identical but for the request id, which names each request.
    const withoutRequestId = (errors: typeof wrong.errors) =>
      errors!.map(({ extensions: { requestId: _id, ...extensions } = {}, ...error }) => ({ ...error, extensions }));
    expect(withoutRequestId(wrong.errors)).toEqual(withoutRequestId(unknown.errors));
  });

  it('does not keep the password in the clear', async () => {
    const user = await signUp(server.url);
    const stored = await server.store.users.findCredentials(user.username);
    expect(stored!.passwordHash).toMatch(/^scrypt\$\d+\$\d+\$\d+\$/);
    expect(stored!.passwordHash).not.toContain('password-123');
  });
});

describe('authentication', () => {
  const forged = () => jwt.sign({}, 'another-secret-another-secret-another', { subject: '1', expiresIn: 60 });
  const expiredFor = (userId: string) =>
    jwt.sign({ exp: Math.floor(Date.now() / 1000) - 10 }, TEST_JWT_SECRET, { subject: userId });

  it.each([
    ['no token', () => undefined],
    ['a forged token', () => forged()],
    ['garbage', () => 'not.a.jwt'],
  ])('refuses %s over HTTP with UNAUTHENTICATED', async (_name, token) => {
    const res = await gql(server.url, '{ me { id } }', {}, token());
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses an expired token over HTTP with UNAUTHENTICATED, saying it expired', async () => {
    const user = await signUp(server.url);
    const res = await gql(server.url, '{ me { id } }', {}, expiredFor(user.id));
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
    expect(res.errors![0]!.message).toMatch(/expired/i);
  });

  it('refuses an Authorization header that is not a bearer token', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Basic dXNlcjpwYXNz' },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(((await res.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('requires a token for every field except signUp and logIn', async () => {
    const schema = buildClientSchema((await gqlOk(server.url, getIntrospectionQuery())) as any);
    const probes: { name: string; document: string }[] = [];
    for (const [op, root] of [
      ['query', schema.getQueryType()],
      ['mutation', schema.getMutationType()],
    ] as const) {
      for (const field of Object.values(root!.getFields())) {
        if (field.name === 'signUp' || field.name === 'logIn') continue;
        /** A literal of the argument's type: its required fields only, for an input object. */
        const literal = (argType: GraphQLInputType): string => {
          const type = getNamedType(argType);
          const literals: Record<string, string> = { Int: '1', Boolean: 'true' };
          const one = isEnumType(type)
            ? type.getValues()[0]!.name
            : isInputObjectType(type)
              ? `{ ${Object.values(type.getFields())
                  .filter((f) => isNonNullType(f.type))
                  .map((f) => `${f.name}: ${literal(f.type)}`)
                  .join(', ')} }`
              : (literals[type.name] ?? '"1"');
          return isListType(getNullableType(argType)) ? `[${one}]` : one;
        };
        const args = field.args.filter((a) => isNonNullType(a.type)).map((a) => `${a.name}: ${literal(a.type)}`);
        const selection = isLeafType(getNamedType(field.type)) ? '' : ' { __typename }';
        probes.push({
          name: field.name,
          document: `${op} { ${field.name}${args.length ? `(${args.join(', ')})` : ''}${selection} }`,
        });
      }
    }
    expect(probes.length).toBeGreaterThan(15);
    for (const probe of probes) {
      // Authentication comes before validation: invalid arguments must not tell an anonymous caller anything.
      for (const document of [probe.document, probe.document.replace(/"1"/g, '""')]) {
        const res = await gql(server.url, document);
        expect({ document, codes: codes(res) }).toEqual({ document, codes: ['UNAUTHENTICATED'] });
      }
    }
  });

  async function closeCode(connectionParams: unknown): Promise<number> {
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    return new Promise((resolve, reject) => {
      const messages: string[] = [];
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: connectionParams })));
      socket.on('message', (data) => {
        messages.push(String(data));
        // A subscription started before the close would show up here.
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: MESSAGE_ADDED_IDS } }));
      });
      socket.on('close', (code) => (messages.length ? reject(new Error(`got ${messages}`)) : resolve(code)));
      socket.on('error', reject);
    });
  }

  it('closes a WebSocket before any subscription: 4401 for a missing or forged token, 4403 for an expired one', async () => {
    const user = await signUp(server.url);
    expect(await closeCode({})).toBe(4401);
    expect(await closeCode({ authorization: `Bearer ${forged()}` })).toBe(4401);
    // Expired: 4403, which graphql-ws clients retry, asking connectionParams for a renewed token.
    expect(await closeCode({ authorization: `Bearer ${expiredFor(user.id)}` })).toBe(4403);
    expect(await closeCode({ authorization: 'Bearer' })).toBe(4401);
  });

  it('accepts a valid token over WebSocket', async () => {
    const user = await signUp(server.url);
    const client = wsClient(server.wsUrl, user.token);
    const sub = subscribe(client, MESSAGE_ADDED_IDS);
    await server.pubsub.waitForSubscribers('messageAdded', user.id);
    sub.dispose();
    await client.dispose();
  });

  it('refuses a token signed for an account that does not exist', async () => {
    const ghost = jwt.sign({}, TEST_JWT_SECRET, { subject: '424242', expiresIn: 60 });
    expect(codes(await gql(server.url, '{ me { id } }', {}, ghost))).toEqual(['UNAUTHENTICATED']);
    expect(await closeCode({ authorization: `Bearer ${ghost}` })).toBe(4401);
  });

  it('limits signUp and logIn attempts per client with RATE_LIMITED', async () => {
    const limited = await startTestServer({ env: { AUTH_RATE_BURST: '3', AUTH_RATE_PER_SECOND: '0.01' } });
    try {
      const attempts = [];
      for (let i = 0; i < 5; i++) attempts.push(await gql(limited.url, LOG_IN, { u: 'nobody_here', p: 'whatever123' }));
      expect(attempts.map((r) => codes(r)[0])).toEqual([
        'UNAUTHENTICATED',
        'UNAUTHENTICATED',
        'UNAUTHENTICATED',
        'RATE_LIMITED',
        'RATE_LIMITED',
      ]);
    } finally {
      await limited.stop();
    }
  });
});

describe('users and friends', () => {
  const FRIENDS = '{ friends { id username } }';
  const ADD = 'mutation($u: ID!) { addFriend(userId: $u) { id username } }';
  const REMOVE = REMOVE_FRIEND;

  it('finds users by id and by username prefix, case-insensitively', async () => {
    const prefix = uniqueName('find').slice(0, 12);
    const names = [`${prefix}_b`, `${prefix}_a`, `${prefix}_c`];
    const users = [];
    for (const u of names) users.push((await gqlOk(server.url, SIGN_UP, { u, p: 'long enough' })).signUp);
    const viewer = users[0]!.token;
    const found = await gqlOk(
      server.url,
      'query($p: String!) { searchUsers(prefix: $p, first: 2) { username } }',
      { p: prefix.toUpperCase() },
      viewer,
    );
    expect(found.searchUsers.map((u: any) => u.username)).toEqual([`${prefix}_a`, `${prefix}_b`]);
    const one = await gqlOk(
      server.url,
      'query($id: ID!) { user(id: $id) { username } }',
      { id: users[2]!.user.id },
      viewer,
    );
    expect(one.user.username).toBe(`${prefix}_c`);
    expect((await gqlOk(server.url, '{ user(id: "1") { id } }', {}, viewer)).user).toBeNull();
    expect(codes(await gql(server.url, '{ searchUsers(prefix: "ab", first: 101) { id } }', {}, viewer))).toEqual([
      'BAD_USER_INPUT',
    ]);
  });

  it('makes friends mutual: one-sided adds are not friends; removal ends it for both', async () => {
    const [a, b, c] = await signUpMany(server.url, 3);
    expect((await gqlOk(server.url, ADD, { u: b!.id }, a!.token)).addFriend.id).toBe(b!.id);
    await gqlOk(server.url, ADD, { u: b!.id }, a!.token); // idempotent
    await gqlOk(server.url, ADD, { u: c!.id }, a!.token);
    expect((await gqlOk(server.url, FRIENDS, {}, a!.token)).friends).toEqual([]);
    await gqlOk(server.url, ADD, { u: a!.id }, b!.token);
    expect((await gqlOk(server.url, FRIENDS, {}, a!.token)).friends.map((f: any) => f.id)).toEqual([b!.id]);
    expect((await gqlOk(server.url, FRIENDS, {}, b!.token)).friends.map((f: any) => f.id)).toEqual([a!.id]);
    expect((await gqlOk(server.url, FRIENDS, {}, c!.token)).friends).toEqual([]);
    expect((await gqlOk(server.url, REMOVE, { u: a!.id }, b!.token)).removeFriend).toBe(true);
    expect((await gqlOk(server.url, REMOVE, { u: a!.id }, b!.token)).removeFriend).toBe(true);
    expect((await gqlOk(server.url, FRIENDS, {}, a!.token)).friends).toEqual([]);
  });

  it('refuses friending yourself or an unknown user', async () => {
    const [a] = await signUpMany(server.url, 1);
    expect(codes(await gql(server.url, ADD, { u: a!.id }, a!.token))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await gql(server.url, ADD, { u: '999' }, a!.token))).toEqual(['NOT_FOUND']);
    expect(codes(await gql(server.url, REMOVE, { u: '999' }, a!.token))).toEqual(['NOT_FOUND']);
  });

  it('shows presence to the viewer and mutual friends only', async () => {
    const [a, b, c] = await signUpMany(server.url, 3);
    await gqlOk(server.url, ADD_FRIEND, { u: b!.id }, a!.token);
    await gqlOk(server.url, ADD_FRIEND, { u: a!.id }, b!.token);
    const q = PRESENCE;
    const res = await gqlOk(server.url, q, { ids: [a!.id, b!.id, c!.id] }, a!.token);
    expect(res.presence).toEqual([
      { userId: a!.id, status: 'OFFLINE', lastActiveAt: null },
      { userId: b!.id, status: 'OFFLINE', lastActiveAt: null },
    ]);
    const other = await gqlOk(
      server.url,
      'query($id: ID!) { user(id: $id) { presence { status } } }',
      { id: c!.id },
      a!.token,
    );
    expect(other.user.presence).toBeNull();
  });
});

describe('push tokens', () => {
  it('registers and unregisters idempotently; a token moving to another user belongs to the new user only', async () => {
    const [a, b] = await signUpMany(server.url, 2);
    const reg = 'mutation($t: String!) { registerPushToken(token: $t, platform: IOS) }';
    const unreg = 'mutation($t: String!) { unregisterPushToken(token: $t) }';
    expect((await gqlOk(server.url, reg, { t: 'device-token-1' }, a!.token)).registerPushToken).toBe(true);
    await gqlOk(server.url, reg, { t: 'device-token-1' }, a!.token);
    expect(await server.store.pushTokens.listForUsers([a!.id])).toEqual([
      { token: 'device-token-1', userId: a!.id, platform: 'IOS' },
    ]);
    await gqlOk(server.url, reg, { t: 'device-token-1' }, b!.token);
    expect(await server.store.pushTokens.listForUsers([a!.id])).toEqual([]);
    await gqlOk(server.url, unreg, { t: 'device-token-1' }, a!.token); // not a's any more: no effect
    expect((await server.store.pushTokens.listForUsers([b!.id])).length).toBe(1);
    expect((await gqlOk(server.url, unreg, { t: 'device-token-1' }, b!.token)).unregisterPushToken).toBe(true);
    expect(await server.store.pushTokens.listForUsers([b!.id])).toEqual([]);
    expect(codes(await gql(server.url, reg, { t: '' }, a!.token))).toEqual(['BAD_USER_INPUT']);
  });
});
