import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Cluster } from 'ioredis';
import { within } from '../../lib/deadline';
import { createOwed } from '../../lib/owed';
import type { RedisClient } from '../../lib/redis';
import { UnavailableError } from '../../lib/unavailable';
import {
  channelName,
  MISSED_EVENTS,
  type PubSub,
  type PubSubOptions,
  type SubscribeOptions,
  type Subscription,
  type Topic,
  type Topics,
} from '../pubsub';
import { channelsOf, createSubscriptionRegistry } from '../queue';
import { createHandOver, PublishError } from './handOver';
import { watchReconnects } from './reconnects';
import { asShardChannels, watchMovedChannels } from './shards';

/** Options of `createRedisPubSub`. */
export interface RedisPubSubOptions extends PubSubOptions {
  /** The process's one publishing connection. */
  publisher: RedisClient;
  /** The process's one subscribing connection (it enters subscriber mode). */
  subscriber: RedisClient;
  /**
   * Shard channels (SPUBLISH/SSUBSCRIBE, Redis 7) instead of classic ones: on a
   * Redis Cluster a classic PUBLISH goes to every node, a shard channel's only
   * to the master that owns its slot, so delivery grows with the masters.
   * Needs Cluster connections made by `connectRedisCluster`. @default false
   */
  sharded?: boolean;
  /** Told of Redis commands that failed in the background (an UNSUBSCRIBE during an outage). @default ignored */
  onBackgroundError?: (error: Error) => void;
  /**
   * How long a publish may wait for Redis before it counts as failed (on a
   * cluster, ioredis retries a command for a master that is away for seconds).
   * @default 1000
   */
  publishTimeoutMs?: number;
}

/**
 * Published on a channel in place of events that a failed publish may have
 * lost: its subscribers, in every process, get MISSED_EVENTS and read what
 * they missed from the store. No event serialises to it.
 */
const MISSED_MARKER = '{"missedEventsMarker":1}';

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
function withUnsubscribeFailuresHandled<C extends RedisClient>(subscriber: C, onError: (error: Error) => void): C {
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
 * A publish can fail while the subscribers stay connected: the publisher's
 * own connection dropped, or on a cluster its route to one master is still
 * settling after a restart. It rejects (within `publishTimeoutMs`), and the
 * channels it may have missed are owed a marker, published in the background
 * until Redis takes it, that each subscriber of them turns into MISSED_EVENTS.
 *
 * While the subscriber connection is down, `subscribe` fails at once with
 * `UnavailableError` (the caller says so to its client) and nothing it or
 * RedisPubSub leaves behind can end the process.
 */
export function createRedisPubSub(options: RedisPubSubOptions): PubSub {
  const {
    publisher,
    subscriber,
    maxQueue = 10_000,
    onBackgroundError = () => undefined,
    sharded = false,
    publishTimeoutMs = 1000,
  } = options;
  /** The size on the wire of each event received, for subscribers' byte budgets. */
  const sizes = new WeakMap<object, number>();
  const received = createRecentTexts();
  const engine = new RedisPubSub({
    publisher: sharded ? asShardChannels(publisher) : publisher,
    subscriber: withUnsubscribeFailuresHandled(sharded ? asShardChannels(subscriber) : subscriber, onBackgroundError),
    // Shard channels' messages arrive as `smessage`; nothing is ever pattern-subscribed.
    ...(sharded ? { messageEventName: 'smessage', pmessageEventName: 'spmessage-unused' } : {}),
    // Parsed once per process and shared by its listeners, as RedisPubSub does by default; the size is kept.
    // One event published on many channels (a group's members) arrives once per channel: parsed once too.
    deserializer: (source) => {
      const text = source.toString();
      if (text === MISSED_MARKER) return MISSED_EVENTS;
      return received.valueOf(text, () => {
        const value: unknown = JSON.parse(text);
        if (typeof value === 'object' && value !== null) sizes.set(value, text.length);
        return value;
      });
    },
  });
  const pendingSubscribes = (engine as unknown as { subsPendingRefsMap?: PendingSubscribes }).subsPendingRefsMap;
  const registry = createSubscriptionRegistry(maxQueue);
  const reconnects = watchReconnects(subscriber, sharded, () => registry.missedEvents());
  const handOver = createHandOver(publisher, sharded);
  const owed = createOwed(async (channels) => (await handOver(channels, MISSED_MARKER))?.channels ?? [], {
    onDropped: (dropped) =>
      onBackgroundError(new Error(`${dropped} channel(s) not told of a failed publish: too many owed at once`)),
  });
  /** This process's subscriptions per channel. */
  const listening = new Map<string, number>();
  // A channel whose slot moved to another master missed what was published while it moved: its subscribers,
  // here and in every process, are told so by the marker, once it is subscribed on the new master.
  const unwatch = sharded
    ? watchMovedChannels(
        subscriber as Cluster,
        () => listening.keys(),
        (channels) => owed.add(channels),
      )
    : () => undefined;

  return {
    reconnects: () => reconnects.reconnects(),
    async publish<T extends Topic>(topic: T, keys: string | readonly string[], event: Topics[T]) {
      const channels = (typeof keys === 'string' ? [keys] : keys).map((key) => channelName(topic, key));
      if (channels.length === 0) return;
      const attempt =
        channels.length === 1
          ? engine
              .publish(channels[0]!, event)
              .catch((error: unknown) => Promise.reject(new PublishError(channels, error)))
          : handOver(channels, JSON.stringify(event)).then((failure) =>
              failure ? Promise.reject(failure) : undefined,
            );
      try {
        await within(attempt, publishTimeoutMs, 'Redis publish');
      } catch (error) {
        // Their subscribers hear that something may be missing once Redis takes publishes again.
        owed.add(error instanceof PublishError ? error.channels : channels);
        throw error;
      }
    },

    async subscribe<T extends Topic>(
      topic: T,
      keys: string | readonly string[],
      options: SubscribeOptions = {},
    ): Promise<Subscription<Topics[T]>> {
      if (subscriber.status !== 'ready' || (sharded && reconnects.interrupted())) {
        throw new UnavailableError('pub/sub', new Error(`Redis subscriber connection is ${subscriber.status}`));
      }
      const channels = channelsOf(topic, keys);
      const ids: number[] = [];
      const subscription = registry.open<Topics[T]>(() => {
        // Only ids whose SUBSCRIBE completed: RedisPubSub cannot unsubscribe a pending one.
        for (const id of ids.splice(0)) engine.unsubscribe(id);
        for (const channel of channels) {
          const count = (listening.get(channel) ?? 0) - 1;
          if (count > 0) listening.set(channel, count);
          else listening.delete(channel);
        }
      }, options.budget);
      for (const channel of channels) listening.set(channel, (listening.get(channel) ?? 0) + 1);
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
      unwatch();
      reconnects.stop();
      owed.close();
      registry.endAll();
    },
  };
}
