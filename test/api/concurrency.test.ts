import {
  gqlOk,
  readAllMessages,
  signUpMany,
  subscribe,
  wsClient,
  type SubscriptionQueue,
  type TestUser,
} from '../helpers/client';
import { withLatency } from '../helpers/latency';
import { useTestServer } from '../helpers/server';
import { createMemoryStore } from '../../src/store/memory';
import { MESSAGE_ADDED_AFTER, SEND } from '../helpers/operations';

// Store calls take a few random milliseconds, as over a network: without that, the memory
// store would finish every replay before the next send is even read, and never reorder publishes.
const server = useTestServer({ store: withLatency(createMemoryStore(), 3) });

const LIVE = MESSAGE_ADDED_AFTER;

async function createGroup(owner: TestUser, members: TestUser[]): Promise<string> {
  const data = await gqlOk(
    server.url,
    'mutation($m: [ID!]!) { createGroup(title: "load", memberIds: $m) { id } }',
    { m: members.map((m) => m.id) },
    owner.token,
  );
  return data.createGroup.id;
}

const seqs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

// 1,000 sends and 40,000 deliveries: seconds alone, more with other test files on both cores (hence 2 minutes).
it('20 clients sending 50 messages each at once: seq is exactly 1..1000, everyone gets all 1000 once, in order', async () => {
  const users = await signUpMany(server.url, 20, 'load');
  const conversationId = await createGroup(users[0]!, users.slice(1));
  // Every member listens, on all their conversations and on this one, as two devices would.
  const subs: SubscriptionQueue<any>[] = [];
  for (const user of users) {
    subs.push(subscribe(wsClient(server.wsUrl, user.token), LIVE));
    subs.push(subscribe(wsClient(server.wsUrl, user.token), LIVE, { c: conversationId }));
  }
  await Promise.all(users.map((u) => server.pubsub.waitForSubscribers('messageAdded', u.id, 2)));

  const results = await Promise.all(
    users.map((user, u) =>
      Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          gqlOk(server.url, SEND, { c: conversationId, t: `${u}:${i}` }, user.token),
        ),
      ),
    ),
  );
  const sent = results.flat().map((r) => r.sendMessage);
  expect(sent.map((m) => m.seq).sort((a, b) => a - b)).toEqual(seqs(1, 1000));
  expect(new Set(sent.map((m) => m.id)).size).toBe(1000);

  for (const sub of subs) {
    const got = (await sub.take(1000, 20_000)).map((r) => r.messageAdded);
    expect(got.map((m) => m.seq)).toEqual(seqs(1, 1000));
    await sub.expectSilence(0);
  }
  await subs[0]!.expectSilence(100);

  const stored = await readAllMessages(server.url, users[5]!.token, conversationId);
  expect(stored.map((m) => m.seq)).toEqual(seqs(1, 1000));
  const byId = new Map(sent.map((m) => [m.id, m.seq]));
  expect(stored.every((m) => byId.get(m.id) === m.seq)).toBe(true);
  subs.forEach((s) => s.dispose());
}, 120_000);

it('resume with `after` while others keep sending: replay plus live is exactly the stored messages after the cursor, once each, in order', async () => {
  const users = await signUpMany(server.url, 5, 'resume');
  const [reader, ...senders] = users as [TestUser, ...TestUser[]];
  const conversationId = await createGroup(reader, senders);
  // A backlog several replay pages long, so that live sends overlap the replay.
  await Promise.all(
    senders.map(async (sender, s) => {
      for (let i = 0; i < 110; i++)
        await gqlOk(server.url, SEND, { c: conversationId, t: `old ${s}:${i}` }, sender.token);
    }),
  );
  const cursor = (await readAllMessages(server.url, reader.token, conversationId))[49]!.id;

  let sending = true;
  const senderLoops = senders.map(async (sender, s) => {
    for (let i = 0; sending; i++)
      await gqlOk(server.url, SEND, { c: conversationId, t: `live ${s}:${i}` }, sender.token);
  });
  await new Promise((r) => setTimeout(r, 50));
  const resumed = subscribe(wsClient(server.wsUrl, reader.token), LIVE, { c: conversationId, after: cursor });
  await new Promise((r) => setTimeout(r, 400));
  sending = false;
  await Promise.all(senderLoops);

  const expected = await readAllMessages(server.url, reader.token, conversationId, cursor);
  expect(expected.length).toBeGreaterThan(390 + 20);
  const got = (await resumed.take(expected.length, 20_000)).map((r) => r.messageAdded);
  expect(got).toEqual(expected);
  await resumed.expectSilence(150);
  resumed.dispose();
});
