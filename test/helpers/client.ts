import { randomBytes } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** A GraphQL response as the server sent it. */
export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [k: string]: unknown } }[];
}

/** POSTs one operation to the server, with a bearer token when given. */
export async function gql<T = any>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Omit<GraphQLResponse<T>, 'status'>;
  return { status: res.status, ...body };
}

/** Like `gql`, but fails the test on any error and returns `data`. */
export async function gqlOk<T = any>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<T> {
  const res = await gql<T>(url, query, variables, token);
  if (res.errors?.length || !res.data) throw new Error(`unexpected errors: ${JSON.stringify(res.errors)}`);
  return res.data;
}

/** The `extensions.code` of every error of a response. */
export function codes(res: GraphQLResponse): (string | undefined)[] {
  return (res.errors ?? []).map((e) => e.extensions?.code);
}

/** A signed-up user of a test. */
export interface TestUser {
  id: string;
  username: string;
  token: string;
}

/** A username nobody else in this run has. */
export function uniqueName(prefix = 'u'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`.slice(0, 32);
}

/** Signs up a new user. */
export async function signUp(url: string, prefix = 'u'): Promise<TestUser> {
  const username = uniqueName(prefix);
  const data = await gqlOk<{ signUp: { token: string; user: { id: string } } }>(
    url,
    'mutation($u: String!, $p: String!) { signUp(username: $u, password: $p) { token user { id } } }',
    { u: username, p: 'password-123' },
  );
  return { id: data.signUp.user.id, username, token: data.signUp.token };
}

/** Signs up `n` users. */
export function signUpMany(url: string, n: number, prefix = 'u'): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: n }, () => signUp(url, prefix)));
}

/** A graphql-ws client authenticated with `token`, never retrying. */
export function wsClient(wsUrl: string, token?: string): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

/** What a subscription received, queued so that nothing is missed between awaits. */
export interface SubscriptionQueue<T> {
  /** The next `n` results' data, failing after `timeoutMs`. */
  take(n: number, timeoutMs?: number): Promise<T[]>;
  /** Fails if anything arrives within `ms`. */
  expectSilence(ms: number): Promise<void>;
  /** Resolves with the errors once the subscription fails (error message or errors in a result). */
  errors(timeoutMs?: number): Promise<{ message: string; extensions?: { code?: string } }[]>;
  /** Whether the server completed the subscription. */
  readonly completed: boolean;
  dispose(): void;
}

/** Subscribes on `client` and queues what arrives. */
export function subscribe<T = any>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): SubscriptionQueue<T> {
  const items: T[] = [];
  let failure: { message: string; extensions?: { code?: string } }[] | null = null;
  let completed = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) failure = result.errors as never;
        else if (result.data) items.push(result.data as T);
        notify();
      },
      error: (error) => {
        failure = Array.isArray(error) ? error : [{ message: String((error as Error)?.message ?? error) }];
        notify();
      },
      complete: () => {
        completed = true;
        notify();
      },
    },
  );
  const waitFor = async (ready: () => boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  return {
    async take(n, timeoutMs = 10_000) {
      await waitFor(() => items.length >= n || failure !== null, timeoutMs, `${n} results (have ${items.length})`);
      if (items.length < n) throw new Error(`subscription failed: ${JSON.stringify(failure)}`);
      return items.splice(0, n);
    },
    async expectSilence(ms) {
      await new Promise((r) => setTimeout(r, ms));
      if (items.length > 0 || failure)
        throw new Error(`expected nothing, got ${JSON.stringify(items.length ? items : failure)}`);
    },
    async errors(timeoutMs = 5000) {
      await waitFor(() => failure !== null, timeoutMs, 'an error');
      return failure!;
    },
    get completed() {
      return completed;
    },
    dispose,
  };
}

/** A stored message as the history helpers read it. */
export interface StoredMessage {
  id: string;
  seq: number;
  content: string;
}

/** The whole history of a conversation after `after` (all of it without), paging forwards. */
export async function readAllMessages(
  url: string,
  token: string,
  conversationId: string,
  after?: string,
): Promise<StoredMessage[]> {
  const query = `query($c: ID!, $after: ID) {
    messages(conversationId: $c, first: 100, after: $after) { edges { node { id seq content } } pageInfo { hasNextPage endCursor } }
  }`;
  const all: StoredMessage[] = [];
  for (let cursor = after; ; ) {
    const page = (await gqlOk(url, query, { c: conversationId, after: cursor }, token)).messages;
    all.push(...page.edges.map((e: { node: StoredMessage }) => e.node));
    if (!page.pageInfo.hasNextPage) return all;
    cursor = page.pageInfo.endCursor;
  }
}

/** An authenticated graphql-ws connection, kept open; `closed` resolves with its close code. */
export async function openSocket(wsUrl: string, token: string) {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => JSON.parse(String(data)).type === 'connection_ack' && resolve());
    void closed.then((code) => reject(new Error(`closed with ${code} before ack`)));
  });
  return { socket, closed };
}
