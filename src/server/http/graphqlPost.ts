import { HeaderMap, type ApolloServer, type HTTPGraphQLRequest } from '@apollo/server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../../contract/errors';
import type { Context } from '../../resolvers/context';

/**
 * The request a client sends most, `POST /graphql` with a plain JSON body,
 * answered on node:http without Express: the same steps as the Express chain
 * (request id, CORS for browsers, a JSON body within the limit, Apollo,
 * refused bodies in GraphQL's error shape), about a third of the HTTP cost
 * less per request. Anything else (another path, method or body encoding) is
 * left to Express, which answers it as before.
 */
export interface GraphqlPostOptions {
  apollo: ApolloServer<Context>;
  /** The largest body taken, in bytes. */
  maxBodyBytes: number;
  /** The request id: the client's if it is a plain token, else a new one. */
  requestId: (given: string | string[] | undefined) => string;
  /** Sets the CORS headers of a request with an Origin header (the `cors` package, connect-style). */
  cors: (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;
  /** The context of one operation. */
  context: (req: IncomingMessage, res: ServerResponse, requestId: string) => Promise<Context>;
}

/** What the fast path takes: a POST to exactly /graphql whose body is plain (not compressed) UTF-8 JSON. */
export function isPlainGraphqlPost(req: IncomingMessage): boolean {
  if (req.method !== 'POST') return false;
  const url = req.url ?? '';
  if (url !== '/graphql' && !url.startsWith('/graphql?')) return false;
  const headers = req.headers;
  if (headers['content-encoding'] !== undefined) return false;
  if (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) return false;
  const type = headers['content-type'];
  if (type === undefined) return false;
  if (type === 'application/json') return true;
  const normalised = type.toLowerCase().replace(/\s+/g, '');
  return normalised === 'application/json' || normalised === 'application/json;charset=utf-8';
}

/** A body refused before Apollo saw it: its status and `type`, named as body-parser names them. */
export class BodyError extends Error {
  constructor(
    readonly status: number,
    readonly type: 'entity.parse.failed' | 'entity.too.large' | 'request.aborted',
  ) {
    super(type);
  }
}

/** The answer to a refused body, or to a failure in the chain: GraphQL's error shape, never an HTML page. */
export function bodyErrorAnswer(
  error: { status?: number; type?: string },
  maxBodyBytes: number,
  requestId: string | undefined,
): { status: number; body: string } {
  const status = typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
  const message =
    error.type === 'entity.parse.failed'
      ? 'The request body is not valid JSON.'
      : error.type === 'entity.too.large'
        ? `The request body is larger than ${maxBodyBytes} bytes.`
        : status < 500
          ? 'The request could not be read.'
          : 'Internal server error.';
  const code = status < 500 ? ErrorCode.BadUserInput : ErrorCode.Internal;
  const body = JSON.stringify({
    errors: [{ message, extensions: { code, ...(requestId ? { requestId } : {}) } }],
  });
  return { status, body };
}

/**
 * The body of `req` parsed as JSON, as body-parser's strict `json()` would:
 * at most `limit` bytes (413 past it, before reading when Content-Length says
 * so), an empty body is `{}`, anything but an object or array is a parse error.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new BodyError(413, 'entity.too.large'));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    const finish = (error: BodyError | null, value?: unknown) => {
      if (done) return;
      done = true;
      req.off('data', onData).off('end', onEnd).off('aborted', onAborted).off('error', onAborted);
      if (error) {
        // What is left of a refused body is read and dropped, so that the answer can be sent.
        req.resume();
        reject(error);
      } else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) finish(new BodyError(413, 'entity.too.large'));
      else chunks.push(chunk);
    };
    const onEnd = () => {
      const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received)).toString('utf8');
      try {
        finish(null, parseStrictJson(text));
      } catch {
        finish(new BodyError(400, 'entity.parse.failed'));
      }
    };
    const onAborted = () => finish(new BodyError(400, 'request.aborted'));
    req.on('data', onData).on('end', onEnd).on('aborted', onAborted).on('error', onAborted);
  });
}

/** JSON.parse with body-parser's strict rules: empty is `{}`, the value must be an object or an array. */
function parseStrictJson(raw: string): unknown {
  // The UTF-8 decoder body-parser uses drops a byte order mark.
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  if (text.length === 0) return {};
  const first = /\S/.exec(text)?.[0];
  if (first !== '{' && first !== '[') throw new SyntaxError('strict violation');
  return JSON.parse(text) as unknown;
}

/** Answers a request `isPlainGraphqlPost` accepted. */
export function createGraphqlPostHandler(options: GraphqlPostOptions) {
  const { apollo, maxBodyBytes, cors, context } = options;

  const answer = async (req: IncomingMessage, res: ServerResponse, requestId: string) => {
    const body = await readJsonBody(req, maxBodyBytes);
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const url = req.url!;
    const query = url.indexOf('?');
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: 'POST',
      headers,
      search: query < 0 ? '' : url.slice(query),
      body,
    };
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: () => context(req, res, requestId),
    });
    for (const [name, value] of response.headers) res.setHeader(name, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      const text = response.body.string;
      res.setHeader('content-length', Buffer.byteLength(text));
      res.end(text);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };

  return (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = options.requestId(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    const run = () =>
      answer(req, res, requestId).catch((error: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const refused = bodyErrorAnswer(error as { status?: number; type?: string }, maxBodyBytes, requestId);
        res.statusCode = refused.status;
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.setHeader('content-length', Buffer.byteLength(refused.body));
        res.end(refused.body);
      });
    // CORS is a browser's concern: a request without an Origin header (servers, apps, curl) needs none of its headers.
    if (req.headers.origin === undefined) void run();
    else cors(req, res, () => void run());
  };
}
