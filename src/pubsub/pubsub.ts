/**
 * Delivery between server processes. A channel is a topic plus a key
 * (`messageAdded:<userId>`, `presenceChanged:<pairId>`), so routing does the
 * filtering. Events are plain JSON values (topics.ts): what one process
 * publishes, every process's subscribers receive as an equal copy.
 *
 * One implementation per backend (memory.ts, redis.ts), all held to the same
 * conformance suite (test/pubsub.conformance.ts).
 */
import type { ByteBudget } from '../lib/byteBudget';
import type { Topic, Topics } from './topics';

export type { Topic, Topics } from './topics';

/**
 * Yielded by a subscription in place of an event when events published since
 * the previous item may have been lost (the backend's connection dropped and
 * came back). The channels are live again when it arrives: a consumer that
 * reads what it missed from the store from then on misses nothing.
 */
export const MISSED_EVENTS: unique symbol = Symbol('missed events');

/** What a subscription yields: an event, or word that some may have been lost. */
export type Delivery<E> = E | typeof MISSED_EVENTS;

/**
 * Events of the subscribed channels, in the order each channel published
 * them, buffered from the moment `subscribe` resolved. `return()` (also by
 * `for await ... break`) releases the subscription.
 */
export interface Subscription<E> extends AsyncIterableIterator<Delivery<E>> {
  return(): Promise<IteratorResult<Delivery<E>>>;
}

/** Raised through a subscription whose consumer fell more than `maxQueue` events behind. */
export class SubscriberOverflowError extends Error {
  constructor(readonly maxQueue: number) {
    super(`subscriber fell more than ${maxQueue} events behind`);
    this.name = 'SubscriberOverflowError';
  }
}

/** Options of one `subscribe`. */
export interface SubscribeOptions {
  /**
   * What the events waiting in this subscription's queue are charged to (its
   * consumer's connection); once it is spent, events are dropped. @default unbounded but for maxQueue
   */
  budget?: ByteBudget;
}

/** Publish and subscribe by topic and key. */
export interface PubSub {
  /**
   * Publishes on the channel of each key (a send to a group: each member's
   * channel), as one publish per key would, but serialises the event once and
   * hands the publishes to the backend together. Resolves once every one of
   * them was handed over; rejects with the first failure, the others still made.
   */
  publish<T extends Topic>(topic: T, keys: string | readonly string[], event: Topics[T]): Promise<void>;
  /** Resolves once the channels are live: every event published after that is delivered. */
  subscribe<T extends Topic>(
    topic: T,
    keys: string | readonly string[],
    options?: SubscribeOptions,
  ): Promise<Subscription<Topics[T]>>;
  /** Times the backend's connection came back after dropping (each time, subscribers got MISSED_EVENTS). */
  reconnects(): number;
  /** Ends every subscription and releases the backend. */
  close(): Promise<void>;
}

/** The channel name for a topic and key, shared by every backend. */
export function channelName(topic: Topic, key: string): string {
  return `${topic}:${key}`;
}

/** Options shared by every PubSub implementation. */
export interface PubSubOptions {
  /**
   * Events a subscription may hold for a slow consumer before it fails with
   * `SubscriberOverflowError` instead of growing without bound.
   * @default 10000
   */
  maxQueue?: number;
}
