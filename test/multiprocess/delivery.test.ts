import {
  gqlOk,
  readAllMessages,
  signUp,
  signUpMany,
  subscribe,
  wsClient,
  type SubscriptionQueue,
  type TestUser,
} from '../helpers/client';
import { backendsAvailable } from '../helpers/backends';
import { probe, useCluster } from '../helpers/cluster';
import type { ServerProcess } from '../helpers/process';
import { MESSAGE_ADDED_AFTER, SEND } from '../helpers/operations';
import { resumeAfterAbsence } from '../helpers/resume';

const run = backendsAvailable('the multi-process suite');

const LIVE = MESSAGE_ADDED_AFTER;

async function createGroup(url: string, owner: TestUser, members: TestUser[]): Promise<string> {
  const data = await gqlOk(
    url,
    'mutation($m: [ID!]!) { createGroup(title: "g", memberIds: $m) { id } }',
    { m: members.map((m) => m.id) },
    owner.token,
  );
  return data.createGroup.id;
}

const seqs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

(run ? describe : describe.skip)('two server processes sharing MongoDB (FerretDB) and Redis', () => {
  const cluster = useCluster();
  let a: ServerProcess;
  let b: ServerProcess;
  beforeAll(async () => {
    [a, b] = await Promise.all([cluster.current.start(), cluster.current.start()]);
  }, 60_000);

  it('holds one Redis connection pair per process, and releases channels when clients go away', async () => {
    const redis = cluster.current.redis;
    const user = await signUp(a.url);
    const channel = `messageAdded:${user.id}`;
    const numsub = () => redis.subscribers(channel);
    const clients = Array.from({ length: 50 }, () => wsClient(a.wsUrl, user.token));
    const subs = clients.map((client) => subscribe(client, LIVE));
    for (const deadline = Date.now() + 10_000; (await numsub()) < 1 && Date.now() < deadline; )
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    // Fifty subscribers on process A share one Redis subscription on one connection.
    expect(await numsub()).toBe(1);
    // Connections named `name` on each node.
    const connections = async (name: string) =>
      (await redis.clientNames()).map((names) => names.filter((n) => n === name).length);
    if (redis.mode === 'single') {
      expect(await connections('chat-api:subscriber')).toEqual([2]);
      expect(await connections('chat-api:publisher')).toEqual([2]);
    } else {
      // On a cluster, per master: at most one shard subscriber and one publishing connection per process.
      const shardSubscribers = await connections('ioredis-cluster(ssubscriber):chat-api:subscriber');
      expect(Math.max(...shardSubscribers)).toBeLessThanOrEqual(2);
      expect(Math.max(...(await connections('chat-api:publisher')))).toBeLessThanOrEqual(2);
      expect(shardSubscribers.reduce((x, y) => x + y, 0)).toBeGreaterThan(0);
    }
    // Half unsubscribe, the rest just drop their connection: the channel goes.
    subs.slice(0, 25).forEach((s) => s.dispose());
    await Promise.all(clients.slice(25).map((c) => c.dispose()));
    for (const deadline = Date.now() + 10_000; (await numsub()) > 0 && Date.now() < deadline; )
      await new Promise((r) => setTimeout(r, 50));
    expect(await numsub()).toBe(0);
    await Promise.all(clients.slice(0, 25).map((c) => c.dispose()));
  });

  it('delivers to a member on process B what a member on process A sent', async () => {
    const [alice, bob] = await signUpMany(a.url, 2);
    const conversationId = await createGroup(a.url, alice!, [bob!]);
    const onB = subscribe(wsClient(b.wsUrl, bob!.token), LIVE);
    const onA = subscribe(wsClient(a.wsUrl, alice!.token), LIVE);
    const first = await probe(a.url, alice!, conversationId, [onB, onA]);
    const sent = (await gqlOk(a.url, SEND, { c: conversationId, t: 'across processes' }, alice!.token)).sendMessage;
    expect(sent.seq).toBe(first + 1);
    expect((await onB.take(1))[0].messageAdded).toEqual({ id: sent.id, seq: sent.seq, content: 'across processes' });
    expect((await onA.take(1))[0].messageAdded.id).toBe(sent.id);
    onA.dispose();
    onB.dispose();
  });

  it('12 clients x 25 messages at once, split across both processes: seq exactly 1..N, every subscriber gets every message once, in order', async () => {
    const users = await signUpMany(a.url, 12, 'mp');
    const conversationId = await createGroup(a.url, users[0]!, users.slice(1));
    const subs: SubscriptionQueue<any>[] = users.map((u, i) =>
      subscribe(wsClient((i % 2 ? b : a).wsUrl, u.token), LIVE),
    );
    const first = await probe(b.url, users[1]!, conversationId, subs);
    const results = await Promise.all(
      users.map((user, u) =>
        Promise.all(
          Array.from({ length: 25 }, (_, i) =>
            gqlOk((u % 2 ? a : b).url, SEND, { c: conversationId, t: `${u}:${i}` }, user.token),
          ),
        ),
      ),
    );
    const sent = results.flat().map((r) => r.sendMessage);
    expect(sent.map((m) => m.seq).sort((x, y) => x - y)).toEqual(seqs(first + 1, first + 300));
    expect(new Set(sent.map((m) => m.id)).size).toBe(300);
    // Each process leased its own worker id: the ids' worker bits tell the two apart.
    const workerOf = (id: string) => Number((BigInt(id) >> 12n) & 1023n);
    const workers = (fromB: boolean) =>
      new Set(
        results
          .filter((_, u) => (u % 2 === 1) === !fromB)
          .flat()
          .map((r) => workerOf(r.sendMessage.id)),
      );
    expect(workers(false).size).toBe(1);
    expect(workers(true).size).toBe(1);
    expect([...workers(false)][0]).not.toBe([...workers(true)][0]);
    for (const sub of subs) {
      expect((await sub.take(300, 30_000)).map((r) => r.messageAdded.seq)).toEqual(seqs(first + 1, first + 300));
    }
    await subs[0]!.expectSilence(200);
    expect((await readAllMessages(b.url, users[3]!.token, conversationId)).map((m) => m.seq)).toEqual(
      seqs(1, first + 300),
    );
    subs.forEach((s) => s.dispose());
  }, 120_000);

  it('resume with `after` on one process while the other keeps sending: no gap, no duplicate', async () => {
    const [reader, ...senders] = await signUpMany(a.url, 4, 'res');
    const conversationId = await createGroup(a.url, reader!, senders);
    await Promise.all(
      senders.map(async (s, i) => {
        for (let n = 0; n < 40; n++) await gqlOk(a.url, SEND, { c: conversationId, t: `old ${i}:${n}` }, s.token);
      }),
    );
    const cursor = (await readAllMessages(a.url, reader!.token, conversationId))[29]!.id;
    let sending = true;
    let sentAfterSubscribe = 0;
    const loops = senders.map(async (s, i) => {
      for (let n = 0; sending; n++) {
        await gqlOk(a.url, SEND, { c: conversationId, t: `live ${i}:${n}` }, s.token);
        sentAfterSubscribe++;
      }
    });
    await new Promise((r) => setTimeout(r, 100));
    const resumed = subscribe(wsClient(b.wsUrl, reader!.token), LIVE, { c: conversationId, after: cursor });
    sentAfterSubscribe = 0;
    // Keep sending until well past the replay, however fast this machine's store is.
    for (const deadline = Date.now() + 20_000; sentAfterSubscribe < 30 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    sending = false;
    await Promise.all(loops);
    expect(sentAfterSubscribe).toBeGreaterThanOrEqual(30);
    const expected = await readAllMessages(b.url, reader!.token, conversationId, cursor);
    expect((await resumed.take(expected.length, 30_000)).map((r) => r.messageAdded)).toEqual(expected);
    await resumed.expectSilence(300);
    resumed.dispose();
  }, 60_000);

  it('resumes every conversation with `positions` while both processes keep sending: exactly what was missed', async () => {
    const { expected, received } = await resumeAfterAbsence({ sendUrls: [a.url, b.url], device: b, missed: 50 });
    for (const [conversationId, messages] of expected) expect(received.get(conversationId)).toEqual(messages);
  }, 120_000);
});
