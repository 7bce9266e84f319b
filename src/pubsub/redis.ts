import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Redis } from 'ioredis';
import { channelName, type PubSub, type PubSubOptions, type Subscription, type Topic, type Topics } from './pubsub';
import { channelsOf, createSubscriptionRegistry } from './queue';

/** Options of `createRedisPubSub`. */
export interface RedisPubSubOptions extends PubSubOptions {
  /** The process's one publishing connection. */
  publisher: Redis;
  /** The process's one subscribing connection (it enters subscriber mode). */
  subscriber: Redis;
}

/**
 * Pub/sub through Redis channels, shared by every server process on the same
 * Redis. graphql-redis-subscriptions' RedisPubSub multiplexes the process's
 * listeners onto its one subscriber connection, with one Redis subscription per
 * channel however many local listeners it has. The caller owns the two
 * connections and closes them after `close()`.
 *
 * Redis keeps nothing for a disconnected subscriber. When the subscriber
 * connection comes back (ioredis re-subscribes by itself), every open
 * subscription receives MISSED_EVENTS, once a round trip has shown the
 * re-subscription in effect.
 */
export function createRedisPubSub({ publisher, subscriber, maxQueue = 10_000 }: RedisPubSubOptions): PubSub {
  const engine = new RedisPubSub({ publisher, subscriber });
  const registry = createSubscriptionRegistry(maxQueue);
  let interrupted = false;

  const onClose = () => {
    interrupted = true;
  };
  const onReady = () => {
    if (!interrupted) return;
    interrupted = false;
    // PING is answered after the SUBSCRIBEs ioredis sent on reconnecting: past it, nothing more is missed.
    subscriber.ping().then(
      () => registry.missedEvents(),
      () => {
        interrupted = true;
      },
    );
  };
  subscriber.on('close', onClose);
  subscriber.on('ready', onReady);

  return {
    async publish<T extends Topic>(topic: T, key: string, event: Topics[T]) {
      await engine.publish(channelName(topic, key), event);
    },

    async subscribe<T extends Topic>(topic: T, keys: string | readonly string[]): Promise<Subscription<Topics[T]>> {
      const channels = channelsOf(topic, keys);
      const ids: number[] = [];
      const subscription = registry.open<Topics[T]>(() => {
        // Only ids whose SUBSCRIBE completed: RedisPubSub cannot unsubscribe a pending one.
        for (const id of ids.splice(0)) engine.unsubscribe(id);
      });
      try {
        for (const channel of channels) {
          ids.push(await engine.subscribe(channel, (event: Topics[T]) => subscription.push(event)));
        }
      } catch (error) {
        await subscription.return();
        throw error;
      }
      return subscription;
    },

    async close() {
      subscriber.off('close', onClose);
      subscriber.off('ready', onReady);
      registry.endAll();
    },
  };
}
