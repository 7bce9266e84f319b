import { gqlOk, signUpMany, subscribe, wsClient, type TestUser } from '../helpers/client';
import { backendsAvailable } from '../helpers/backends';
import { probe, probeEvents, useCluster } from '../helpers/cluster';
import {
  ADD_FRIEND,
  CONVERSATION_EVENT,
  CREATE_GROUP,
  MESSAGE_ADDED_AFTER,
  MESSAGE_ADDED_IDS,
  PRESENCE_CHANGED,
  SEND,
  SET_TYPING,
} from '../helpers/operations';
import type { ServerProcess } from '../helpers/process';
import { shardSubscribers } from '../helpers/redisCluster';

const run = backendsAvailable('the Redis Cluster multi-process suite');

(run ? describe : describe.skip)(
  'two server processes on a 3-master Redis Cluster (REDIS_CLUSTER_NODES) and FerretDB',
  () => {
    const cluster = useCluster({ redis: 'cluster' });
    let a: ServerProcess;
    let b: ServerProcess;
    beforeAll(async () => {
      [a, b] = await Promise.all([cluster.current.start(), cluster.current.start()]);
    }, 60_000);

    it('leases distinct worker ids and names both processes for chatServer', async () => {
      const workerId = (p: ServerProcess) => /worker id (\d+) \(leased from Redis\)/.exec(p.output())?.[1];
      expect(workerId(a)).toBeDefined();
      expect(workerId(a)).not.toBe(workerId(b));
      expect(a.output()).toMatch(/Redis Cluster, shard channels/);
      const [user] = await signUpMany(a.url, 1, 'disco');
      const answers = new Set<string>();
      const open = [wsClient(a.wsUrl, user!.token), wsClient(a.wsUrl, user!.token)];
      open.forEach((c) => subscribe(c, MESSAGE_ADDED_IDS));
      for (const deadline = Date.now() + 10_000; answers.size < 1 || !answers.has(b.wsUrl); ) {
        if (Date.now() > deadline) break;
        answers.add((await gqlOk(b.url, '{ chatServer }', {}, user!.token)).chatServer);
        await new Promise((r) => setTimeout(r, 200));
      }
      // A has two connections, B none: B is the least loaded, and both processes say so.
      expect(answers).toContain(b.wsUrl);
      await Promise.all(open.map((c) => c.dispose()));
    });

    it('delivers messages, conversation events and presence from one process to the other over shard channels', async () => {
      const users = (await signUpMany(a.url, 8, 'shard')) as TestUser[];
      const [alice, bob] = users as [TestUser, TestUser];
      const c = (await gqlOk(a.url, CREATE_GROUP, { t: 'g', m: users.slice(1).map((u) => u.id) }, alice.token))
        .createGroup.id;
      const messagesOnB = users.slice(1).map((u) => subscribe(wsClient(b.wsUrl, u.token), MESSAGE_ADDED_AFTER));
      const first = await probe(a.url, alice, c, messagesOnB);
      const sent = (await gqlOk(a.url, SEND, { c, t: 'over the shards' }, alice.token)).sendMessage;
      expect(sent.seq).toBe(first + 1);
      for (const sub of messagesOnB) expect((await sub.take(1))[0].messageAdded.content).toBe('over the shards');

      // The members' channels are spread over the masters, each on exactly one.
      const channels = users.slice(1).map((u) => `messageAdded:${u.id}`);
      const perMaster = cluster.current.redis.cluster!.masters.map((m) => shardSubscribers(m.port, channels));
      for (const channel of channels) {
        expect(perMaster.map((counts) => counts.get(channel) ?? 0).reduce((x, y) => x + y, 0)).toBe(1);
      }
      expect(perMaster.filter((counts) => [...counts.values()].some((n) => n > 0)).length).toBeGreaterThan(1);

      const events = subscribe(wsClient(b.wsUrl, bob.token), CONVERSATION_EVENT, { c });
      await probeEvents(a.url, alice, c, [events]);
      await gqlOk(a.url, SET_TYPING, { c, t: true }, alice.token);
      expect((await events.take(1))[0].conversationEvent).toMatchObject({ typing: true, user: { id: alice.id } });

      // Presence: Bob on B hears Alice come online on A.
      await gqlOk(a.url, ADD_FRIEND, { u: bob.id }, alice.token);
      await gqlOk(b.url, ADD_FRIEND, { u: alice.id }, bob.token);
      const presence = subscribe(wsClient(b.wsUrl, bob.token), PRESENCE_CHANGED);
      await new Promise((r) => setTimeout(r, 500));
      const aliceOnline = wsClient(a.wsUrl, alice.token);
      subscribe(aliceOnline, MESSAGE_ADDED_IDS);
      for (;;) {
        const [change] = await presence.take(1, 15_000);
        if (change.presenceChanged.userId === alice.id && change.presenceChanged.status === 'ONLINE') break;
      }
      await aliceOnline.dispose();
      [...messagesOnB, events, presence].forEach((s) => s.dispose());
    }, 60_000);

    it("loses nothing acknowledged when the master of a member's channel restarts, and delivers live again after", async () => {
      // Eight members, their channels on every master: a group message is SPUBLISHes to several masters at once.
      const [alice, bob, ...others] = (await signUpMany(a.url, 8, 'restart')) as TestUser[];
      const members = [bob!, ...others].map((u) => u.id);
      const c = (await gqlOk(a.url, CREATE_GROUP, { t: 'r', m: members }, alice!.token)).createGroup.id;
      const onB = subscribe(wsClient(b.wsUrl, bob!.token), MESSAGE_ADDED_AFTER);
      await probe(a.url, alice!, c, [onB]);
      const shards = cluster.current.redis.cluster!;
      const channel = `messageAdded:${bob!.id}`;
      const owner = shards.masters.find((m) => (shardSubscribers(m.port, [channel]).get(channel) ?? 0) > 0)!;

      await owner.stop();
      // Stored and acknowledged while Bob's channel cannot be published to.
      const during = [];
      for (let i = 0; i < 3; i++)
        during.push((await gqlOk(a.url, SEND, { c, t: `during ${i}` }, alice!.token)).sendMessage);
      await owner.start();
      await shards.waitUntilHealthy();

      const got = (await onB.take(3, 30_000)).map((d) => d.messageAdded);
      expect(got.map((m) => m.id)).toEqual(during.map((m) => m.id));
      // Live again, through both processes: each message arrives without a later one to reveal the gap.
      for (const [i, via] of [a, b, a, b].entries()) {
        const after = (await gqlOk(via.url, SEND, { c, t: `after ${i}` }, alice!.token)).sendMessage;
        expect((await onB.take(1, 15_000))[0].messageAdded.id).toBe(after.id);
      }
      await onB.expectSilence(300);
      onB.dispose();
    }, 90_000);
  },
);
