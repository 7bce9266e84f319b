// Prints what the signed-in user receives, live.
//   node examples/listen.mjs <token> [conversationId] [afterMessageId]   new messages (one conversation, replaying after a message)
//   node examples/listen.mjs <token> --resume <conversationId>:<messageId> ...   every conversation, resuming the listed ones
//   node examples/listen.mjs <token> --events [conversationId]           typing, edits, reactions, read positions, members
// The server: --url ws://host:port/graphql, or WS_URL; default ws://localhost:4000/graphql.
// Access tokens are short-lived: with --refresh-token <refreshToken> (or REFRESH_TOKEN) it renews an expired
// one with renewSession and reconnects, resuming messages after the newest it printed (one conversation, or
// the --resume ones and those it has seen; the all-conversations form and --events go on live only).
// Without a refresh token it stops when the token expires. Renewals are reported on stderr.
// Options (--url, --refresh-token) may stand anywhere; the token is the first other argument.
// Run it from the project root: it uses the project's graphql-ws and ws.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

/** The server closes a connection whose access token expired with this code (4401, a session ended, is final). */
const TOKEN_EXPIRED = 4403;

const args = process.argv.slice(2);

/** Takes `name value` out of the arguments, wherever it is: the value, '' when it is missing, or undefined. */
function option(name) {
  const i = args.indexOf(name);
  return i === -1 ? undefined : (args.splice(i, 2)[1] ?? '');
}

const url = option('--url') ?? process.env.WS_URL ?? 'ws://localhost:4000/graphql';
let refreshToken = option('--refresh-token') ?? process.env.REFRESH_TOKEN;

const MESSAGE =
  'id seq conversationId content sender { username } createdAt editedAt deletedAt reactions { emoji count }';
let [token, ...rest] = args;
if (!token || !url || refreshToken === '') {
  console.error(
    'usage: node examples/listen.mjs [--url ws://host:port/graphql] [--refresh-token <t>] <token> [conversationId [afterMessageId] | --resume c:m ... | --events [c]]',
  );
  process.exit(2);
}

/** The newest message printed per conversation (seeded from the arguments): where a reconnect resumes. */
const positions = new Map();
if (rest[0] === '--resume') {
  for (const p of rest.slice(1)) {
    const [conversationId, after] = p.split(':');
    positions.set(conversationId, after);
  }
} else if (rest[0] && rest[0] !== '--events' && rest[1]) {
  positions.set(rest[0], rest[1]);
}

/** What went wrong, in one line: a close code and reason, GraphQL errors, or a connection error. */
function reason(error) {
  if (error && typeof error.code === 'number' && 'reason' in error) {
    return `the server closed the connection: ${error.code} ${error.reason || '(no reason given)'}`;
  }
  if (Array.isArray(error)) return error.map((e) => `${e.message} (${e.extensions?.code ?? 'no code'})`).join('; ');
  if (error && error.type === 'error') return `cannot connect to ${url}`;
  return String(error?.message ?? error);
}

function operation() {
  if (rest[0] === '--events') {
    return {
      query: `subscription($c: ID) { conversationEvent(conversationId: $c) {
        __typename
        ... on TypingChanged { conversationId typing user { username } }
        ... on MessageUpdated { message { ${MESSAGE} } }
        ... on ReadPositionChanged { conversationId position { user { username } lastReadSeq } }
        ... on MembersChanged { conversation { id } joined { username } left { username } }
      } }`,
      variables: { c: rest[1] ?? null },
    };
  }
  if (rest[0] === '--resume') {
    return {
      query: `subscription($p: [ConversationPosition!]) { messageAdded(positions: $p) { ${MESSAGE} } }`,
      variables: { p: [...positions].map(([conversationId, after]) => ({ conversationId, after })) },
    };
  }
  return {
    query: `subscription($c: ID, $after: ID) { messageAdded(conversationId: $c, after: $after) { ${MESSAGE} } }`,
    variables: { c: rest[0] ?? null, after: (rest[0] && positions.get(rest[0])) ?? null },
  };
}

/** Prints why and exits with 1. */
function fail(why) {
  console.error(why);
  process.exit(1);
}

/** Spends the refresh token for a new pair (over HTTP, on the same path as `url`). */
async function renew() {
  const response = await fetch(url.replace(/^ws/, 'http'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation($r: String!) { renewSession(refreshToken: $r) { token expiresAt refreshToken } }',
      variables: { r: refreshToken },
    }),
  });
  const body = await response.json();
  const pair = body.data?.renewSession;
  if (!pair) fail(`cannot renew the session: ${reason(body.errors ?? `HTTP ${response.status}`)}`);
  ({ token, refreshToken } = pair);
  console.error(`renewed the access token, valid until ${pair.expiresAt}`);
}

let expired = false;
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  // Asked on every (re)connect: after a 4403 the refresh token buys a new access token first.
  connectionParams: async () => {
    if (expired) await renew();
    expired = false;
    return { authorization: `Bearer ${token}` };
  },
  // graphql-ws retries 4403 and dropped connections, never 4401; reconnect soon after an expiry.
  retryAttempts: 10,
  retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(300 * 2 ** retries, 10_000))),
  on: {
    closed: (event) => {
      if (event?.code !== TOKEN_EXPIRED) return;
      if (!refreshToken) {
        fail('the access token expired: pass --refresh-token <refreshToken> (or set REFRESH_TOKEN) to renew it');
      }
      expired = true;
    },
    // graphql-ws would subscribe again with the first variables; start over from what was printed instead.
    connected: (_socket, _payload, wasRetry) => wasRetry && listen(),
  },
});

/** The subscription whose results are printed; a reconnect replaces it. */
let current;

/** Subscribes with the current positions, then ends the subscription it replaces. */
function listen() {
  const previous = current;
  const dispose = client.subscribe(operation(), {
    next: (result) => {
      if (dispose !== current) return;
      const message = result.data?.messageAdded;
      if (message) positions.set(message.conversationId, message.id);
      console.log(JSON.stringify(result));
    },
    error: (error) => dispose === current && fail(`subscription failed: ${reason(error)}`),
    complete: () => dispose === current && process.exit(0),
  });
  current = dispose;
  previous?.();
}

listen();
