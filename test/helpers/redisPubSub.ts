import type { RedisClient } from '../../src/lib/redis';
import { MISSED_EVENTS, type PubSub, type PubSubOptions, type Subscription } from '../../src/pubsub/pubsub';
import { createRedisPubSub } from '../../src/pubsub/redis';
import type { MessageEvent } from '../../src/pubsub/topics';
import type { TestRedis } from './redis';

/** A Redis PubSub and the two connections it runs on. */
export type OpenedPubSub = PubSub & { publisher: RedisClient; subscriber: RedisClient };

/**
 * A PubSub on its own connection pair to `redis`, as one server process has
 * (shard channels on a cluster); close() also closes the connections.
 */
export async function openRedisPubSub(redis: TestRedis, options: PubSubOptions = {}): Promise<OpenedPubSub> {
  const [publisher, subscriber] = await Promise.all([redis.connect('publisher'), redis.connect('subscriber')]);
  const pubsub = createRedisPubSub({ publisher, subscriber, sharded: redis.mode === 'cluster', ...options });
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

/** A message event with sequence number `seq`. */
export function messageEvent(seq: number): MessageEvent {
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

/** A `next()` that timed out in `nextWithin`, still owed its item: the following call takes it over. */
const pending = new WeakMap<object, Promise<IteratorResult<unknown>>>();

/** The next item of `subscription`, or null if none comes within `ms` (it is then the next call's). */
export async function nextWithin<E>(
  subscription: Subscription<E>,
  ms: number,
): Promise<E | typeof MISSED_EVENTS | null> {
  const next = (pending.get(subscription) as Promise<IteratorResult<E | typeof MISSED_EVENTS>>) ?? subscription.next();
  pending.delete(subscription);
  let timer: NodeJS.Timeout | undefined;
  const none = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    const result = await Promise.race([next, none]);
    if (result === null) pending.set(subscription, next);
    return result === null || result.done ? null : result.value;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The publish-failure cases both Redis modes share: `open()` makes a PubSub
 * on the file's Redis, as another server process would.
 */
export function describePublishFailures(open: () => Promise<OpenedPubSub>): void {
  it("tells a channel's subscribers, still connected, that a publish failed, once Redis takes publishes again", async () => {
    const [a, b] = [await open(), await open()];
    try {
      const subscription = await b.subscribe('messageAdded', 'owed');
      const untouched = await b.subscribe('messageAdded', 'untouched');
      // Only the publisher's connection drops (ioredis connects it again by itself); the subscriber stays.
      a.publisher.disconnect(true);
      await expect(a.publish('messageAdded', 'owed', messageEvent(1))).rejects.toThrow();
      expect(await nextWithin(subscription, 10_000)).toBe(MISSED_EVENTS);
      // Said once, to the channel that missed something, without a reconnect of its own.
      expect(await nextWithin(subscription, 300)).toBeNull();
      expect(await nextWithin(untouched, 0)).toBeNull();
      expect(b.reconnects()).toBe(0);
      await a.publish('messageAdded', 'owed', messageEvent(2));
      expect(await nextWithin(subscription, 5000)).toMatchObject({ seq: 2 });
      await Promise.all([subscription.return(), untouched.return()]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 30_000);
}
