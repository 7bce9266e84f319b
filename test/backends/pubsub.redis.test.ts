import { connectRedis } from '../../src/lib/redis';
import { MISSED_EVENTS } from '../../src/pubsub/pubsub';
import { backendsAvailable, useFixture } from '../helpers/backends';
import { startTestRedis } from '../helpers/redis';
import { describePublishFailures, messageEvent as event, openRedisPubSub } from '../helpers/redisPubSub';
import { describePubSub } from './pubsub.conformance';

const run = backendsAvailable('the Redis pub/sub suite');

(run ? describe : describe.skip)('Redis pub/sub', () => {
  const redis = useFixture(() => startTestRedis('single'));
  const open = (options = {}) => openRedisPubSub(redis.current, options);

  describePubSub('redis', (options) => open(options), { crossInstance: true });
  describePublishFailures(() => open());

  it('releases channels and listeners: 1,000 subscribe/unsubscribe cycles end where they began', async () => {
    const pubsub = await open();
    const admin = await connectRedis(redis.current.env.REDIS_URL!, 'admin');
    try {
      const channels = async () => (await admin.pubsub('CHANNELS', 'messageAdded:*')).length;
      const before = { channels: await channels(), listeners: pubsub.subscriber.listenerCount('message') };
      const held = await pubsub.subscribe('messageAdded', 'held');
      for (let i = 0; i < 1000; i++) {
        const sub = await pubsub.subscribe('messageAdded', [`leak-${i % 10}`, 'held']);
        await sub.return();
      }
      expect(await channels()).toBe(before.channels + 1);
      await held.return();
      // UNSUBSCRIBE is sent without waiting for its answer: a round trip on the same connection settles it.
      await pubsub.subscriber.ping();
      expect(await channels()).toBe(before.channels);
      expect(pubsub.subscriber.listenerCount('message')).toBe(before.listeners);
    } finally {
      admin.disconnect();
      await pubsub.close();
    }
  });

  it('resubscribes by itself after Redis restarts, saying that events may have been missed', async () => {
    const [a, b] = [await open(), await open()];
    try {
      const sub = await b.subscribe('messageAdded', 'restart');
      await redis.current.stop();
      await expect(a.publish('messageAdded', 'restart', event(1))).rejects.toThrow();
      await redis.current.start();
      const first = await sub.next();
      expect(first.value).toBe(MISSED_EVENTS);
      // What the chat_pubsub_reconnects_total metric reads.
      expect(b.reconnects()).toBe(1);
      // The marker comes once the channel is live again.
      await waitUntil(async () => a.publisher.status === 'ready');
      await a.publish('messageAdded', 'restart', event(2));
      expect((await sub.next()).value).toMatchObject({ seq: 2 });
      await sub.return();
    } finally {
      await a.close();
      await b.close();
    }
  }, 30_000);
});

async function waitUntil(ready: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
