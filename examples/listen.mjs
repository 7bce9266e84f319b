// Prints what the signed-in user receives, live.
//   node examples/listen.mjs <token> [conversationId] [afterMessageId]   new messages (one conversation, replaying after a message)
//   node examples/listen.mjs <token> --resume <conversationId>:<messageId> ...   every conversation, resuming the listed ones
//   node examples/listen.mjs <token> --events [conversationId]           typing, edits, reactions, read positions, members
// The server: --url ws://host:port/graphql (before the token), or WS_URL; default ws://localhost:4000/graphql.
// Run it from the project root: it uses the project's graphql-ws and ws.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const args = process.argv.slice(2);
let url = process.env.WS_URL ?? 'ws://localhost:4000/graphql';
if (args[0] === '--url') {
  url = args[1];
  args.splice(0, 2);
}

const MESSAGE =
  'id seq conversationId content sender { username } createdAt editedAt deletedAt reactions { emoji count }';
const [token, ...rest] = args;
if (!token || !url) {
  console.error(
    'usage: node examples/listen.mjs [--url ws://host:port/graphql] <token> [conversationId [afterMessageId] | --resume c:m ... | --events [c]]',
  );
  process.exit(2);
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
    const positions = rest.slice(1).map((p) => {
      const [conversationId, after] = p.split(':');
      return { conversationId, after };
    });
    return {
      query: `subscription($p: [ConversationPosition!]) { messageAdded(positions: $p) { ${MESSAGE} } }`,
      variables: { p: positions },
    };
  }
  return {
    query: `subscription($c: ID, $after: ID) { messageAdded(conversationId: $c, after: $after) { ${MESSAGE} } }`,
    variables: { c: rest[0] ?? null, after: rest[1] ?? null },
  };
}

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
});
client.subscribe(operation(), {
  next: (result) => console.log(JSON.stringify(result)),
  error: (error) => {
    console.error(`subscription failed: ${reason(error)}`);
    process.exit(1);
  },
  complete: () => process.exit(0),
});
