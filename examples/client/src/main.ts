/**
 * What a frontend does with the chat API, end to end, against a running server:
 *   node dist/main.js [http://localhost:4000/graphql]
 * Two users; Bob pages the history backwards into Apollo's cache, follows new
 * messages with subscribeToMore, loses his connection while messages are
 * sent, and resumes with `after` from the newest message he has. Then Alice
 * keeps sending for a while: with short-lived access tokens (the server run
 * with ACCESS_TOKEN_TTL_SECONDS=3) several expire meanwhile, Bob's connection
 * is closed at each expiry and comes back with a renewed token, and Alice's
 * device, whose clock runs slow, has its sends refused as expired and retried
 * with a renewed one. Bob ends with the whole history exactly once, in order.
 */
import type { ApolloClient } from '@apollo/client';
import { createChatClient } from './client';
import type { HistoryQuery } from './gql/graphql';
import {
  CompleteUpload,
  CreateGroup,
  CreateUpload,
  History,
  MessageAdded,
  NewestAttachments,
  SendAttachments,
  SendMessage,
  SignUp,
} from './operations';
import { createSession } from './session';
import { toDate } from './time';

const url = process.argv[2] ?? process.env.CHAT_URL ?? 'http://localhost:4000/graphql';
/** How long Alice keeps sending after the reconnect: several 3-second tokens' worth. */
const STREAM_MS = 12_000;
/** Alice's device clock is this far behind the server's, so only the server notices her tokens expire. */
const ALICE_CLOCK_BEHIND_MS = 60_000;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(ready: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !ready(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(20);
  }
}

async function signUp(apollo: ApolloClient, name: string) {
  const username = `${name}_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const { data } = await apollo.mutate({
    mutation: SignUp,
    variables: { username, password: 'password-123', deviceName: 'client example' },
  });
  if (!data) throw new Error('signUp returned nothing');
  return data.signUp;
}

/** A session that stops the program when the server ends it: renewing again could not help. */
function sessionOf(pair: Awaited<ReturnType<typeof signUp>>, clock?: () => number) {
  const onEnded = () => {
    console.error(`${pair.user.username}'s session has ended: sign in again`);
    process.exit(1);
  };
  return createSession({ url, pair, onEnded, clock });
}

/** An 8 x 6 red PNG: the photo Alice sends. */
const PHOTO = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAGCAIAAABxZ0isAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAEUlEQVQImWM4oaGBFTEMpAQAgPc0gVsnMZgAAAAASUVORK5CYII=',
  'base64',
);

/**
 * Sends a photo as a client does: reserve an upload, send the bytes where it
 * says (this server's media store on the embedded default, S3 otherwise),
 * complete it, then send a message with it. Returns what the server made of it.
 */
async function sendPhoto(apollo: ApolloClient, conversationId: string) {
  const reserved = await apollo.mutate({
    mutation: CreateUpload,
    variables: {
      input: { purpose: 'ATTACHMENT', fileName: 'red.png', contentType: 'image/png', byteSize: PHOTO.length },
    },
  });
  const upload = reserved.data!.createUpload;
  const headers = Object.fromEntries(upload.headers.map((h) => [h.name, h.value]));
  const sent = await fetch(upload.url, { method: upload.method, headers, body: PHOTO });
  if (!sent.ok) throw new Error(`the upload was refused: ${sent.status}`);
  const completed = await apollo.mutate({ mutation: CompleteUpload, variables: { uploadId: upload.id } });
  await apollo.mutate({
    mutation: SendAttachments,
    variables: { conversationId, content: '', attachmentIds: [upload.id] },
  });
  return completed.data!.completeUpload;
}

async function main(): Promise<void> {
  const anonymous = createChatClient(url);
  const alice = await signUp(anonymous.apollo, 'alice');
  const bob = await signUp(anonymous.apollo, 'bob');
  await anonymous.ws.dispose();

  const aliceSession = sessionOf(alice, () => Date.now() - ALICE_CLOCK_BEHIND_MS);
  const bobSession = sessionOf(bob);
  const a = createChatClient(url, aliceSession);
  const b = createChatClient(url, bobSession);
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
  let reconnects = 0;
  // After a reconnect, follow again from the newest message in the cache: `after` replays what was missed.
  b.ws.on('connected', (_socket, _payload, wasRetry) => {
    if (!wasRetry) return;
    reconnects++;
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

  // Tokens expire while Alice sends: Bob reconnects with renewed ones, Alice's refused sends are retried.
  let sent = 9;
  const end = Date.now() + STREAM_MS;
  while (Date.now() < end) {
    await send(`message ${++sent}`);
    await pause(250);
  }
  await until(() => shown.length === sent, `messages 10 to ${sent}`);

  const contents = shown.map((e) => e.node.content);
  const expected = Array.from({ length: sent }, (_, i) => `message ${i + 1}`);
  if (JSON.stringify(contents) !== JSON.stringify(expected)) {
    throw new Error(`history is ${JSON.stringify(contents)}, expected ${JSON.stringify(expected)}`);
  }
  for (const { node } of shown) {
    console.log(`${toDate(node.createdAt).toISOString()} #${node.seq} ${node.sender.username}: ${node.content}`);
  }
  console.log(
    `ok: ${shown.length} messages, each once, in order, across a reconnect and ${b.counts.expiries} token expiries`,
  );
  const renewals = aliceSession.renewals + bobSession.renewals;
  console.log(`renewals: ${renewals}, reconnects: ${reconnects}, retries: ${a.counts.retries}`);

  // A photo: Bob reads it from a signed URL that only members get.
  const photo = await sendPhoto(a.apollo, conversationId);
  const newest = await b.apollo.query({
    query: NewestAttachments,
    variables: { conversationId },
    fetchPolicy: 'network-only',
  });
  const [attachment] = newest.data!.messages.edges[0]!.node.attachments;
  if (!attachment || attachment.id !== photo.id) throw new Error('Bob does not see the photo');
  const download = await fetch(attachment.url);
  const bytes = Buffer.from(await download.arrayBuffer());
  if (!download.ok || bytes.length !== attachment.byteSize) throw new Error(`the photo's download failed`);
  console.log(
    `photo: ${attachment.kind} ${attachment.width}x${attachment.height} ${attachment.contentType}, ` +
      `Bob downloaded its ${bytes.length} bytes`,
  );

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
