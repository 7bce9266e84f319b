import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/lib/log';
import { gql, gqlOk, signUp, subscribe, wsClient } from '../helpers/client';
import { captureLog, startTestServer, TEST_JWT_SECRET, type TestServer } from '../helpers/server';
import { LOG_IN, MESSAGE_ADDED_IDS, MESSAGE_ADDED_IN } from '../helpers/operations';

describe('logs', () => {
  const capture = captureLog();
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ log: capture.log });
  });
  afterAll(() => server.stop());

  it('writes one line per HTTP operation with a request id that the error response and header carry', async () => {
    const user = await signUp(server.url, 'logged');
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: JSON.stringify({
        query: 'query Missing($c: ID!) { messages(conversationId: $c) { edges { cursor } } }',
        variables: { c: '42' },
      }),
    });
    const body = (await res.json()) as { errors: { extensions: { code: string; requestId: string } }[] };
    const requestId = body.errors[0]!.extensions.requestId;
    expect(body.errors[0]!.extensions.code).toBe('FORBIDDEN');
    expect(requestId).toMatch(/^[\w-]{36}$/);
    expect(res.headers.get('x-request-id')).toBe(requestId);
    const line = capture.lines.find((l) => l.msg === 'http operation' && (l.detail as any).requestId === requestId);
    expect(line).toMatchObject({
      level: 'debug',
      detail: { operation: 'query', operationName: 'Missing', userId: user.id, errors: ['FORBIDDEN'] },
    });
    // A request id from a proxy is kept; one that is not a plain token is replaced.
    const proxied = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'lb-1234' },
      body: '{ not json',
    });
    expect(proxied.headers.get('x-request-id')).toBe('lb-1234');
    expect(((await proxied.json()) as any).errors[0].extensions).toEqual({
      code: 'BAD_USER_INPUT',
      requestId: 'lb-1234',
    });
    const odd = await fetch(server.url, { method: 'POST', headers: { 'x-request-id': 'a b\u00e9' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[\w-]{36}$/);
  });

  it('writes WebSocket connections and subscriptions, start and end, with the request id of their errors', async () => {
    const user = await signUp(server.url, 'wslogged');
    const client = wsClient(server.wsUrl, user.token);
    const live = subscribe(client, MESSAGE_ADDED_IDS);
    const refused = subscribe(client, MESSAGE_ADDED_IN, { c: '42' });
    const [error] = await refused.errors();
    const requestId = (error!.extensions as { requestId: string }).requestId;
    expect(requestId).toMatch(/^[\w-]{36}\/[\w-]+$/);
    await server.pubsub.waitForSubscribers('messageAdded', user.id);
    live.dispose();
    await client.dispose();
    for (const deadline = Date.now() + 5000; !capture.lines.some((l) => l.msg === 'ws closed'); ) {
      if (Date.now() > deadline) throw new Error('no ws closed line');
      await new Promise((r) => setTimeout(r, 20));
    }
    const connectionId = requestId.split('/')[0];
    const mine = capture.lines.filter((l) => JSON.stringify(l).includes(connectionId!)).map((l) => l.msg);
    expect(mine).toEqual(
      expect.arrayContaining(['ws connected', 'subscription started', 'subscription ended', 'ws closed']),
    );
    expect(mine.filter((m) => m === 'subscription started')).toHaveLength(2);
    expect(mine.filter((m) => m === 'subscription ended')).toHaveLength(2);
  });

  it('never writes a token, a password or an Authorization header', async () => {
    const password = 'correct-horse-battery-staple';
    const user = await signUp(server.url, 'secret');
    await gqlOk(server.url, LOG_IN, {
      u: user.username,
      p: 'password-123',
    });
    await gql(server.url, LOG_IN, {
      u: user.username,
      p: password,
    });
    await gql(server.url, '{ me { id } }', {}, `${user.token}x`);
    const client = wsClient(server.wsUrl, user.token);
    await subscribe(client, MESSAGE_ADDED_IDS);
    await server.pubsub.waitForSubscribers('messageAdded', user.id);
    await client.dispose();
    const text = capture.text();
    expect(text.length).toBeGreaterThan(0);
    for (const secret of [
      user.token,
      user.token.split('.')[1]!,
      password,
      'password-123',
      TEST_JWT_SECRET,
      'Bearer ',
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('redacts credentials in what code passes to the logger', () => {
    const out: string[] = [];
    const log = createLogger('debug', { write: (line) => out.push(line) });
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';
    log.warn(`refused Bearer ${jwt}`, { authorization: `Bearer ${jwt}`, nested: { token: jwt, note: `x ${jwt}` } });
    log.error('failed', new Error(`bad ${jwt}`));
    const text = out.join('');
    expect(text).not.toContain(jwt);
    expect(text).not.toContain(jwt.split('.')[1]);
    expect(JSON.parse(out[1]!).err.message).toBe('bad [redacted]');
  });

  it('writes JSON in production and pretty lines elsewhere unless LOG_FORMAT says', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).logFormat).toBe('json');
    expect(loadConfig({}).logFormat).toBe('pretty');
    expect(loadConfig({ NODE_ENV: 'production', LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });
});
