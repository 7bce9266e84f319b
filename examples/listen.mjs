// Prints every message the signed-in user receives, live.
//   node examples/listen.mjs <token> [conversationId] [afterMessageId]
// Run it from the project root: it uses the project's graphql-ws and ws packages.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [token, conversationId, after] = process.argv.slice(2);
if (!token) {
  console.error('usage: node examples/listen.mjs <token> [conversationId] [afterMessageId]');
  process.exit(2);
}
const client = createClient({
  url: process.env.WS_URL ?? 'ws://localhost:4000/graphql',
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
});
client.subscribe(
  {
    query: `subscription($c: ID, $after: ID) {
      messageAdded(conversationId: $c, after: $after) { id seq conversationId content sender { username } createdAt }
    }`,
    variables: { c: conversationId ?? null, after: after ?? null },
  },
  {
    next: (result) => console.log(JSON.stringify(result)),
    error: (error) => {
      console.error('subscription failed:', error);
      process.exit(1);
    },
    complete: () => process.exit(0),
  },
);
