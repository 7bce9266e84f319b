import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Redis } from 'ioredis';
import { UnavailableError } from '../lib/unavailable';
import {
  channelName,
  type PubSub,
  type PubSubOptions,
  type SubscribeOptions,
  type Subscription,
  type Topic,
  type Topics,
} from './pubsub';
import { channelsOf, createSubscriptionRegistry } from './queue';

/** Options of `createRedisPubSub`. */
export interface RedisPubSubOptions extends PubSubOptions {
  /** The process's one publishing connection. */
  publisher: Redis;
  /** The process's one subscribing connection (it enters subscriber mode). */
  subscriber: Redis;
  /** Told of Redis commands that failed in the background (an UNSUBSCRIBE during an outage). @default ignored */
  onBackgroundError?: (error: Error) => void;
}

/**
 * One event on many channels in one command: a message to a group of 100 is
 * one script call, not 100 PUBLISH commands, each of which costs the client
 * as much as the Redis server. ARGV[1] is the event, the rest its channels.
 */
const PUBLISH_MANY = 'chatPublishMany';
const PUBLISH_MANY_LUA = `
for i = 2, #ARGV do redis.call('PUBLISH', ARGV[i], ARGV[1]) end
return #ARGV - 1`;
type PublishMany = Record<typeof PUBLISH_MANY, (event: string, ...channels: string[]) => Promise<number>>;

/**
 * The last few texts received and what they parsed to. A process subscribed
 * to many channels that one event was published on receives the same text
 * once per channel, back to back; they all share one parse.
 */
function createRecentTexts(size = 8) {
  const texts: (string | undefined)[] = new Array<string | undefined>(size);
  const values: unknown[] = new Array<unknown>(size);
  let next = 0;
  return {
    valueOf(text: string, parse: () => unknown): unknown {
      for (let i = 0; i < size; i++) if (texts[i] === text) return values[i];
      const value = parse();
      texts[next] = text;
      values[next] = value;
      next = (next + 1) % size;
      return value;
    },
  };
}

/** What RedisPubSub keeps of a channel whose SUBSCRIBE is in flight (not part of its typed API). */
type PendingSubscribes = Map<string, { pending?: { catch?: (onRejected: () => void) => unknown } }>;

/**
 * `subscriber` as RedisPubSub may use it: RedisPubSub fires UNSUBSCRIBE and
 * PUNSUBSCRIBE without awaiting them, and while Redis is down their rejection
 * would go unhandled and end the process. Here it is handed to `onError`.
 */
function withUnsubscribeFailuresHandled(subscriber: Redis, onError: (error: Error) => void): Redis {
  return new Proxy(subscriber, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property !== 'unsubscribe' && property !== 'punsubscribe') return value.bind(target);
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        if (result instanceof Promise) result.catch(onError);
        return result;
      };
    },
  });
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
 *
 * While the subscriber connection is down, `subscribe` fails at once with
 * `UnavailableError` (the caller says so to its client) and nothing it or
 * RedisPubSub leaves behind can end the process.
 */
export function createRedisPubSub(options: RedisPubSubOptions): PubSub {
  const { publisher, subscriber, maxQueue = 10_000, onBackgroundError = () => undefined } = options;
  /** The size on the wire of each event received, for subscribers' byte budgets. */
  const sizes = new WeakMap<object, number>();
  const received = createRecentTexts();
  publisher.defineCommand(PUBLISH_MANY, { numberOfKeys: 0, lua: PUBLISH_MANY_LUA });
  const engine = new RedisPubSub({
    publisher,
    subscriber: withUnsubscribeFailuresHandled(subscriber, onBackgroundError),
    // Parsed once per process and shared by its listeners, as RedisPubSub does by default; the size is kept.
    // One event published on many channels (a group's members) arrives once per channel: parsed once too.
    deserializer: (source) => {
      const text = source.toString();
      return received.valueOf(text, () => {
        const value: unknown = JSON.parse(text);
        if (typeof value === 'object' && value !== null) sizes.set(value, text.length);
        return value;
      });
    },
  });
  const pendingSubscribes = (engine as unknown as { subsPendingRefsMap?: PendingSubscribes }).subsPendingRefsMap;
  const registry = createSubscriptionRegistry(maxQueue);
  let interrupted = false;
  let reconnects = 0;

  const onClose = () => {
    interrupted = true;
  };
  const onReady = () => {
    if (!interrupted) return;
    interrupted = false;
    // PING is answered after the SUBSCRIBEs ioredis sent on reconnecting: past it, nothing more is missed.
    subscriber.ping().then(
      () => {
        reconnects++;
        registry.missedEvents();
      },
      () => {
        interrupted = true;
      },
    );
  };
  subscriber.on('close', onClose);
  subscriber.on('ready', onReady);

  return {
    reconnects: () => reconnects,
    async publish<T extends Topic>(topic: T, keys: string | readonly string[], event: Topics[T]) {
      const channels = (typeof keys === 'string' ? [keys] : keys).map((key) => channelName(topic, key));
      if (channels.length === 1) return engine.publish(channels[0]!, event);
      if (channels.length > 1)
        await (publisher as unknown as PublishMany)[PUBLISH_MANY](JSON.stringify(event), ...channels);
    },

    async subscribe<T extends Topic>(
      topic: T,
      keys: string | readonly string[],
      options: SubscribeOptions = {},
    ): Promise<Subscription<Topics[T]>> {
      if (subscriber.status !== 'ready') {
        throw new UnavailableError('pub/sub', new Error(`Redis subscriber connection is ${subscriber.status}`));
      }
      const channels = channelsOf(topic, keys);
      const ids: number[] = [];
      const subscription = registry.open<Topics[T]>(() => {
        // Only ids whose SUBSCRIBE completed: RedisPubSub cannot unsubscribe a pending one.
        for (const id of ids.splice(0)) engine.unsubscribe(id);
      }, options.budget);
      try {
        for (const channel of channels) {
          const subscribed = engine.subscribe(channel, (event: Topics[T]) =>
            subscription.push(event, sizes.get(event) ?? 0),
          );
          // RedisPubSub keeps this SUBSCRIBE's outcome for later subscribers of the channel too; should the
          // SUBSCRIBE fail with nobody else waiting, that copy's rejection would go unhandled.
          pendingSubscribes?.get(channel)?.pending?.catch?.(() => undefined);
          ids.push(await subscribed);
        }
      } catch (error) {
        await subscription.return();
        throw new UnavailableError('pub/sub', error);
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
