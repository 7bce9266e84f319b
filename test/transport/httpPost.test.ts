import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { MAX_PAYLOAD_BYTES } from '../../src/server/http';
import { signUp } from '../helpers/client';
import { startTestServer, type TestServer } from '../helpers/server';

/** One answer, as the client sees it. */
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** POSTs `body` (one write, or several chunks sent chunked) with `headers` to `url`. */
function post(url: string, headers: Record<string, string>, body: string | Buffer | Buffer[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (Array.isArray(body)) {
      for (const chunk of body) req.write(chunk);
      req.end();
    } else req.end(body);
  });
}

/** The answer with what differs between any two requests (ids, dates) taken out. */
function comparable(answer: Answer) {
  return {
    status: answer.status,
    contentType: answer.headers['content-type'],
    body: answer.body.replace(/"requestId":"[\w-]+"/g, '"requestId":"…"'),
  };
}

/**
 * POST /graphql with a plain JSON body is answered without Express (server/http/graphqlPost.ts);
 * other encodings of the same body still take Express's chain. Both must answer alike.
 */
describe('POST /graphql', () => {
  let server: TestServer;
  let restricted: TestServer;
  let user: { token: string; username: string };
  beforeAll(async () => {
    server = await startTestServer();
    restricted = await startTestServer({ env: { CORS_ORIGIN: 'https://app.example' } });
    user = await signUp(server.url, 'poster');
  });
  afterAll(async () => {
    await server.stop();
    await restricted.stop();
  });

  const json = { 'content-type': 'application/json' };
  // `identity` is no encoding at all, but it keeps the request on Express's body-parser: the reference answer.
  const viaExpress = { 'content-type': 'application/json', 'content-encoding': 'identity' };
  const bodies: [string, string | Buffer[]][] = [
    ['a query', JSON.stringify({ query: '{ __typename }' })],
    ['a query sent in chunks', [Buffer.from('{"query":'), Buffer.from('"{ __typename }"}')]],
    ['malformed JSON', '{ not json'],
    ['JSON that is not an object', '42'],
    ['an empty body', ''],
    ['a body without a query', '{}'],
    ['a document that does not parse', JSON.stringify({ query: '{ me ' })],
    ['an operation that fails validation', JSON.stringify({ query: '{ noSuchField }' })],
    ['variables of the wrong type', JSON.stringify({ query: 'query($n: Int) { __typename }', variables: { n: 'x' } })],
    ['a subscription', JSON.stringify({ query: 'subscription { messageAdded { id } }' })],
    ['a body over the limit', JSON.stringify({ query: '{ __typename }', pad: 'x'.repeat(MAX_PAYLOAD_BYTES) })],
    [
      'a body over the limit sent in chunks',
      [Buffer.from('{"query":"{ __typename }","pad":"'), Buffer.alloc(MAX_PAYLOAD_BYTES, 'x'), Buffer.from('"}')],
    ],
  ];

  it.each(bodies)('answers %s as Express did', async (_name, body) => {
    const [fast, reference] = await Promise.all([post(server.url, json, body), post(server.url, viaExpress, body)]);
    expect(comparable(fast)).toEqual(comparable(reference));
    expect(fast.headers['x-request-id']).toMatch(/^[\w-]{36}$/);
    expect(fast.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('refuses bodies in GraphQL error shape, with the request id', async () => {
    const malformed = await post(server.url, { ...json, 'x-request-id': 'lb-77' }, '{ not json');
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toEqual({
      errors: [
        { message: 'The request body is not valid JSON.', extensions: { code: 'BAD_USER_INPUT', requestId: 'lb-77' } },
      ],
    });
    const large = await post(server.url, json, JSON.stringify({ query: 'x'.repeat(MAX_PAYLOAD_BYTES) }));
    expect(large.status).toBe(413);
    expect(JSON.parse(large.body).errors[0]).toMatchObject({
      message: `The request body is larger than ${MAX_PAYLOAD_BYTES} bytes.`,
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });

  it('answers the other spellings of a JSON body, and gzip, as before', async () => {
    const body = JSON.stringify({ query: '{ __typename }' });
    const expected = { data: { __typename: 'Query' } };
    for (const type of ['application/json; charset=utf-8', 'Application/JSON;Charset=UTF-8', 'application/json']) {
      const answer = await post(server.url, { 'content-type': type }, body);
      expect([answer.status, JSON.parse(answer.body)]).toEqual([200, expected]);
    }
    const zipped = await post(server.url, { ...json, 'content-encoding': 'gzip' }, gzipSync(body));
    expect([zipped.status, JSON.parse(zipped.body)]).toEqual([200, expected]);
    // Apollo's CSRF prevention still refuses a simple (non-preflighted) request.
    const plain = await post(server.url, { 'content-type': 'text/plain' }, body);
    expect(plain.status).toBe(400);
  });

  it('serves one viewer per request on a kept-alive connection, with its token', async () => {
    const me = JSON.stringify({ query: '{ me { username } }' });
    const mine = await post(server.url, { ...json, authorization: `Bearer ${user.token}` }, me);
    const nobody = await post(server.url, json, me);
    expect(JSON.parse(mine.body)).toEqual({ data: { me: { username: user.username } } });
    expect(JSON.parse(nobody.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('sends CORS headers to browsers only, for the configured origins', async () => {
    const body = JSON.stringify({ query: '{ __typename }' });
    const browser = await post(server.url, { ...json, origin: 'https://any.example' }, body);
    expect(browser.headers['access-control-allow-origin']).toBe('*');
    const app = await post(server.url, json, body);
    expect(app.headers['access-control-allow-origin']).toBeUndefined();
    const allowed = await post(restricted.url, { ...json, origin: 'https://app.example' }, body);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(allowed.headers.vary).toMatch(/origin/i);
    const other = await post(restricted.url, { ...json, origin: 'https://evil.example' }, body);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(JSON.parse(other.body)).toEqual({ data: { __typename: 'Query' } });
  });
});
