import type { Redis } from 'ioredis';
import { connectRedis } from '../src/lib/redis';
import { MISSED_EVENTS, type PubSub, type PubSubOptions } from '../src/pubsub/pubsub';
import { createRedisPubSub } from '../src/pubsub/redis';
import { backendsAvailable, useRedis } from './helpers/backends';
import { describePubSub } from './pubsub.conformance';

const run = backendsAvailable('the Redis pub/sub suite');

(run ? describe : describe.skip)('Redis pub/sub', () => {
  const redis = useRedis();

  /** A PubSub on its own connection pair, as one server process has; close() also closes them. */
  async function open(options: PubSubOptions = {}): Promise<PubSub & { publisher: Redis; subscriber: Redis }> {
    const [publisher, subscriber] = await Promise.all([
      connectRedis(redis.current.url, 'publisher'),
      connectRedis(redis.current.url, 'subscriber'),
    ]);
    const pubsub = createRedisPubSub({ publisher, subscriber, ...options });
    return {
      ...pubsub,
      publisher,
      subscriber,
      async close() {
        await pubsub.close();
        publisher.disconnect();
        subscriber.disconnect();
      },
    };
  }

  describePubSub('redis', (options) => open(options), { crossInstance: true });

  it('releases channels and listeners: 1,000 subscribe/unsubscribe cycles end where they began', async () => {
    const pubsub = await open();
    const admin = await connectRedis(redis.current.url, 'admin');
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

function event(seq: number) {
  return {
    id: `${seq}`,
    conversationId: 'c',
    seq,
    senderId: 's',
    content: 'x',
    clientMessageId: null,
    createdAt: new Date().toISOString(),
    editedAt: null,
    deletedAt: null,
    reactions: [],
  };
}

async function waitUntil(ready: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
