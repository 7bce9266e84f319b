/**
 * Delivery between server processes. A channel is a topic plus a key
 * (`messageAdded:<userId>`, later `presenceChanged:<pairId>`), so routing does
 * the filtering. Events are plain JSON values: what one process publishes,
 * every process's subscribers receive as an equal copy.
 *
 * One implementation per backend (memory.ts, later redis.ts), all held to the
 * same conformance suite (test/pubsub.conformance.ts).
 */
import type { MessageRecord } from '../store/store';

/** A message as it travels on a user's channel: the stored record, its time as ISO-8601. */
export type MessageEvent = Omit<MessageRecord, 'createdAt'> & { createdAt: string };

/** A user's presence as it travels on a friend pair's channel. */
export interface PresenceEvent {
  userId: string;
  status: 'ONLINE' | 'OFFLINE';
  /** ISO-8601, or null if never active. */
  lastActiveAt: string | null;
}

/** On a user's control channel: their mutual friends may have changed (with `friendId`). */
export interface FriendsChangedEvent {
  friendId: string;
}

/** Every topic and the event it carries. */
export interface Topics {
  messageAdded: MessageEvent;
  presenceChanged: PresenceEvent;
  friendsChanged: FriendsChangedEvent;
}

/** A topic's name. */
export type Topic = keyof Topics;

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

/** Publish and subscribe by topic and key. */
export interface PubSub {
  /** Resolves once the event has been handed to the backend for every subscriber of the channel. */
  publish<T extends Topic>(topic: T, key: string, event: Topics[T]): Promise<void>;
  /** Resolves once the channels are live: every event published after that is delivered. */
  subscribe<T extends Topic>(topic: T, keys: string | readonly string[]): Promise<Subscription<Topics[T]>>;
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

/**
 * The per-subscriber half of every backend: a queue fed by `push` and drained
 * by the async iterator. `onClose` runs once, when the consumer stops or the
 * backend ends the subscription.
 */
export function createSubscriptionQueue<E>(maxQueue: number, onClose: () => void): Subscription<E> & {
  push(event: Delivery<E>): void;
  end(error?: Error): void;
} {
  type D = Delivery<E>;
  const queue: D[] = [];
  const waiting: { resolve(result: IteratorResult<D>): void; reject(error: Error): void }[] = [];
  let failure: Error | null = null;
  let ended = false;
  let released = false;

  function release(): void {
    if (released) return;
    released = true;
    onClose();
  }

  const subscription = {
    push(event: D) {
      if (ended) return;
      const waiter = waiting.shift();
      if (waiter) return waiter.resolve({ value: event, done: false });
      if (queue.length >= maxQueue) return subscription.end(new SubscriberOverflowError(maxQueue));
      queue.push(event);
    },
    end(error?: Error) {
      if (ended) return;
      ended = true;
      release();
      if (error) {
        queue.length = 0;
        const waiter = waiting.shift();
        if (waiter) waiter.reject(error);
        else failure = error;
      }
      for (const waiter of waiting.splice(0)) waiter.resolve({ value: undefined, done: true });
    },
    next(): Promise<IteratorResult<D>> {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
      if (failure) {
        const error = failure;
        failure = null;
        return Promise.reject(error);
      }
      if (ended) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    return(): Promise<IteratorResult<D>> {
      ended = true;
      queue.length = 0;
      failure = null;
      release();
      for (const waiter of waiting.splice(0)) waiter.resolve({ value: undefined, done: true });
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return subscription;
    },
  };
  return subscription;
}
