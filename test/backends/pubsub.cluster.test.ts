import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import calculateSlot from 'cluster-key-slot';
import { fixShardedSubscriberStop } from '../../src/lib/ioredisShardedStop';
import { MISSED_EVENTS } from '../../src/pubsub/pubsub';
import { backendsAvailable, useFixture } from '../helpers/backends';
import { startTestRedis } from '../helpers/redis';
import { moveSlot, shardSubscribers } from '../helpers/redisCluster';
import { describePublishFailures, messageEvent, nextWithin, openRedisPubSub } from '../helpers/redisPubSub';
import { describePubSub } from './pubsub.conformance';

const run = backendsAvailable('the Redis Cluster pub/sub suite');

(run ? describe : describe.skip)('Redis Cluster pub/sub on shard channels', () => {
  const redis = useFixture(() => startTestRedis('cluster'));
  const open = (options = {}) => openRedisPubSub(redis.current, options);

  describePubSub('redis cluster (sharded)', (options) => open(options), { crossInstance: true });
  describePublishFailures(() => open());

  it('a shard subscriber stopped while connecting fails its start instead of hanging (ioredis workaround)', async () => {
    fixShardedSubscriberStop();
    const master = redis.current.cluster!.masters[0]!;
    // ioredis' internal class, as its subscriber group uses it on a cluster restart: start, then stop at once
    // or a few milliseconds into the connection. Without the workaround, some starts never settle.
    // Node's own require, as the workaround's (jest's registry would load a copy of its own).
    const { default: ShardedSubscriber } = createRequire(__filename)('ioredis/built/cluster/ShardedSubscriber');
    for (let delayMs = 0; delayMs <= 6; delayMs++) {
      const subscriber = new ShardedSubscriber(new EventEmitter(), { host: '127.0.0.1', port: master.port }, {});
      const started = subscriber.start().then(
        () => 'connected',
        () => 'failed',
      );
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      subscriber.stop();
      const outcome = await Promise.race([started, new Promise((r) => setTimeout(() => r('hung'), 2000))]);
      expect([delayMs, outcome]).toEqual([delayMs, expect.stringMatching(/^(connected|failed)$/)]);
    }
  });

  it('says events may be lost when the master of a channel restarts, then delivers again', async () => {
    const [a, b] = [await open(), await open()];
    try {
      const subscription = await b.subscribe('messageAdded', 'restarting');
      const owner = redis.current.cluster!.masters.find(
        (m) => (shardSubscribers(m.port, ['messageAdded:restarting']).get('messageAdded:restarting') ?? 0) > 0,
      )!;
      await owner.stop();
      await expect(a.publish('messageAdded', 'restarting', { leftConversationId: 'lost' })).rejects.toThrow();
      await owner.start();
      await redis.current.cluster!.waitUntilHealthy();
      expect((await subscription.next()).value).toBe(MISSED_EVENTS);
      expect(b.reconnects()).toBe(1);
      // Live again: what is published now arrives (retried while the cluster settles).
      for (let delivered = false, round = 0; !delivered; round++) {
        if (round === 50) throw new Error('nothing delivered after the restart');
        await a.publish('messageAdded', 'restarting', { leftConversationId: `after${round}` }).catch(() => undefined);
        const next = await Promise.race([
          subscription.next(),
          new Promise<null>((r) => setTimeout(() => r(null), 200)),
        ]);
        delivered = next !== null && next.value !== MISSED_EVENTS;
      }
      await subscription.return();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);

  it('spreads channels over every master, each channel on one master only, and delivers across instances', async () => {
    const [a, b] = [await open(), await open()];
    try {
      const users = Array.from({ length: 60 }, (_, i) => `spread${i}`);
      const subscription = await b.subscribe('messageAdded', users);
      const channels = users.map((u) => `messageAdded:${u}`);
      const perMaster = redis.current.cluster!.masters.map((m) => shardSubscribers(m.port, channels));
      // Each channel is subscribed on exactly one master, and every master holds some.
      for (const channel of channels) {
        expect(perMaster.map((counts) => counts.get(channel) ?? 0).reduce((x, y) => x + y, 0)).toBe(1);
      }
      for (const counts of perMaster) expect([...counts.values()].filter((n) => n > 0).length).toBeGreaterThan(5);
      // One event to all of them through the other instance: every channel delivers it once.
      const event = { userId: 'x', status: 'ONLINE' as const, lastActiveAt: null };
      await a.publish('presenceChanged', users.slice(0, 1), event);
      await a.publish('messageAdded', users, { leftConversationId: 'c1' });
      const got = [];
      for (let i = 0; i < users.length; i++) got.push((await subscription.next()).value);
      expect(got).toEqual(users.map(() => ({ leftConversationId: 'c1' })));
      await subscription.return();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  // Last: it leaves the slots where they were moved.
  it('keeps delivering on a channel whose slot moves to another master, and tells only its subscribers that events may be lost', async () => {
    const [a, b] = [await open(), await open()];
    try {
      const moving = await b.subscribe('messageAdded', 'moving');
      const staying = await b.subscribe(
        'messageAdded',
        Array.from({ length: 8 }, (_, i) => `staying${i}`),
      );
      const channel = 'messageAdded:moving';
      const masters = redis.current.cluster!.masters;
      const from = masters.find((m) => (shardSubscribers(m.port, [channel]).get(channel) ?? 0) > 0)!;
      const to = masters.find((m) => m !== from)!;
      moveSlot(masters, calculateSlot(channel), to.port);
      // Published while the channel is subscribed nowhere: lost (the publisher follows MOVED), and said to be.
      await a.publish('messageAdded', 'moving', messageEvent(1));
      const seen: unknown[] = [];
      while (!seen.includes(MISSED_EVENTS)) {
        const next = await nextWithin(moving, 15_000);
        if (next === null) throw new Error(`no MISSED_EVENTS after the slot moved; got ${JSON.stringify(seen)}`);
        seen.push(next);
      }
      // The channel lives on its new master now, and delivers there.
      expect(shardSubscribers(to.port, [channel]).get(channel)).toBe(1);
      await a.publish('messageAdded', 'moving', messageEvent(2));
      let next = await nextWithin(moving, 5000);
      if (next !== null && typeof next === 'object' && 'seq' in next && next.seq === 1)
        next = await nextWithin(moving, 5000);
      expect(next).toMatchObject({ seq: 2 });
      // Channels that did not move heard nothing, and nothing counts as a reconnect.
      expect(await nextWithin(staying, 0)).toBeNull();
      expect(b.reconnects()).toBe(0);
      await Promise.all([moving.return(), staying.return()]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);
});
