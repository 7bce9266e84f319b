// Prints what the signed-in user receives, live.
//   node examples/listen.mjs <token> [conversationId] [afterMessageId]   new messages (one conversation, replaying after a message)
//   node examples/listen.mjs <token> --resume <conversationId>:<messageId> ...   every conversation, resuming the listed ones
//   node examples/listen.mjs <token> --events [conversationId]           typing, edits, reactions, read positions, members
// WS_URL overrides ws://localhost:4000/graphql. Run it from the project root: it uses the project's graphql-ws and ws.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const MESSAGE =
  'id seq conversationId content sender { username } createdAt editedAt deletedAt reactions { emoji count }';
const [token, ...rest] = process.argv.slice(2);
if (!token) {
  console.error(
    'usage: node examples/listen.mjs <token> [conversationId [afterMessageId] | --resume c:m ... | --events [c]]',
  );
  process.exit(2);
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
  url: process.env.WS_URL ?? 'ws://localhost:4000/graphql',
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
});
client.subscribe(operation(), {
  next: (result) => console.log(JSON.stringify(result)),
  error: (error) => {
    console.error('subscription failed:', error);
    process.exit(1);
  },
  complete: () => process.exit(0),
});
