/**
 * What a frontend does with the chat API, end to end, against a running server:
 *   node dist/main.js [http://localhost:4000/graphql]
 * Two users; Bob pages the history backwards into Apollo's cache, follows new
 * messages with subscribeToMore, loses his connection while messages are
 * sent, and resumes with `after` from the newest message he has, ending with
 * the whole history exactly once, in order.
 */
import type { ApolloClient } from '@apollo/client';
import { createChatClient } from './client';
import type { HistoryQuery } from './gql/graphql';
import { CreateGroup, History, MessageAdded, SendMessage, SignUp } from './operations';
import { toDate } from './time';

const url = process.argv[2] ?? process.env.CHAT_URL ?? 'http://localhost:4000/graphql';

async function until(ready: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !ready(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function signUp(apollo: ApolloClient, name: string) {
  const username = `${name}_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const { data } = await apollo.mutate({ mutation: SignUp, variables: { username, password: 'password-123' } });
  if (!data) throw new Error('signUp returned nothing');
  return data.signUp;
}

async function main(): Promise<void> {
  const anonymous = createChatClient(url);
  const alice = await signUp(anonymous.apollo, 'alice');
  const bob = await signUp(anonymous.apollo, 'bob');
  await anonymous.ws.dispose();

  const a = createChatClient(url, alice.token);
  const b = createChatClient(url, bob.token);
  const created = await a.apollo.mutate({
    mutation: CreateGroup,
    variables: { title: 'Typed client', memberIds: [bob.user.id] },
  });
  const conversationId = created.data!.createGroup.id;
  const send = (content: string) =>
    a.apollo.mutate({ mutation: SendMessage, variables: { conversationId, content, clientMessageId: content } });
  for (let i = 1; i <= 5; i++) await send(`message ${i}`);

  // Bob reads the newest three, then pages back: relayStylePagination keeps one list per conversation.
  const history = b.apollo.watchQuery({ query: History, variables: { conversationId, last: 3 } });
  let shown: HistoryQuery['messages']['edges'] = [];
  let pageInfo: HistoryQuery['messages']['pageInfo'] | undefined;
  const watching = history.subscribe((result) => {
    if (result.dataState !== 'complete') return;
    shown = result.data.messages.edges;
    pageInfo = result.data.messages.pageInfo;
  });
  await until(() => shown.length === 3, 'the newest page');
  await history.fetchMore({ variables: { before: pageInfo!.startCursor, last: 3 } });
  await until(() => shown.length === 5, 'the earlier page');

  // New messages go into the cached list, from just after the newest one Bob has.
  const follow = () =>
    history.subscribeToMore({
      document: MessageAdded,
      variables: { conversationId, after: shown.at(-1)?.cursor ?? null },
      updateQuery: (_partial, options) => {
        // Only a complete cached page is extended (Apollo Client 4 says which through `complete`).
        if (!options.complete) return undefined;
        const previous = options.previousData;
        const message = options.subscriptionData.data.messageAdded;
        if (previous.messages.edges.some((e) => e.node.id === message.id)) return undefined;
        const edge = { __typename: 'MessageEdge' as const, cursor: message.id, node: message };
        return { ...previous, messages: { ...previous.messages, edges: [...previous.messages.edges, edge] } };
      },
    });
  let following = follow();
  // After a reconnect, follow again from the newest message in the cache: `after` replays what was missed.
  b.ws.on('connected', (_socket, _payload, wasRetry) => {
    if (!wasRetry) return;
    following();
    following = follow();
  });

  await send('message 6');
  await until(() => shown.length === 6, 'message 6 live');

  // The connection drops; two messages are sent before it is back.
  b.ws.terminate();
  await send('message 7');
  await send('message 8');
  await until(() => shown.length === 8, 'messages 7 and 8 after the reconnect');
  await send('message 9');
  await until(() => shown.length === 9, 'message 9 live');

  const contents = shown.map((e) => e.node.content);
  const expected = Array.from({ length: 9 }, (_, i) => `message ${i + 1}`);
  if (JSON.stringify(contents) !== JSON.stringify(expected)) {
    throw new Error(`history is ${JSON.stringify(contents)}, expected ${JSON.stringify(expected)}`);
  }
  for (const { node } of shown) {
    console.log(`${toDate(node.createdAt).toISOString()} #${node.seq} ${node.sender.username}: ${node.content}`);
  }
  console.log(`ok: ${shown.length} messages, each once, in order, across a reconnect`);

  watching.unsubscribe();
  following();
  await Promise.all([a.ws.dispose(), b.ws.dispose()]);
  a.apollo.stop();
  b.apollo.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
