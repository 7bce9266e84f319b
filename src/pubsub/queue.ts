import type { ByteBudget } from '../lib/byteBudget';
import {
  channelName,
  MISSED_EVENTS,
  SubscriberOverflowError,
  type Delivery,
  type Subscription,
  type Topic,
} from './pubsub';

/**
 * The per-subscriber half of every backend: a queue fed by `push` and drained
 * by the async iterator. `onClose` runs once, when the consumer stops or the
 * backend ends the subscription. With a `budget`, the bytes of the events
 * waiting here are taken from it, and once it is spent events are dropped:
 * its owner is dropping the consumer, which resumes from the store.
 */
export function createSubscriptionQueue<E>(maxQueue: number, onClose: () => void, budget?: ByteBudget) {
  return new SubscriptionQueueImpl<E>(maxQueue, onClose, budget);
}

type Waiter<D> = { resolve(result: IteratorResult<D>): void; reject(error: Error): void };

/**
 * `createSubscriptionQueue`'s queue: a class, so that its methods are shared
 * by every subscription instead of being closures of each (an idle
 * connection holds one per subscription). Its arrays are made when first needed.
 */
class SubscriptionQueueImpl<E> implements Subscription<E> {
  /** Queued events, and the budgeted bytes of each, in queue order. */
  private queue: Delivery<E>[] | null = null;
  private sizes: number[] | null = null;
  private waiting: Waiter<Delivery<E>>[] | null = null;
  private failure: Error | null = null;
  private ended = false;
  private released = false;

  constructor(
    private readonly maxQueue: number,
    private readonly onClose: () => void,
    private readonly budget: ByteBudget | undefined,
  ) {}

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.onClose();
  }

  private dequeue(): Delivery<E> {
    this.budget?.give(this.sizes!.shift() ?? 0);
    return this.queue!.shift()!;
  }

  private clear(): void {
    if (this.sizes) for (const bytes of this.sizes.splice(0)) this.budget?.give(bytes);
    if (this.queue) this.queue.length = 0;
  }

  private resolveWaiters(): void {
    for (const waiter of this.waiting?.splice(0) ?? []) waiter.resolve({ value: undefined, done: true });
  }

  /** Queues an event; `bytes` is its size on the wire, for the budget. */
  push(event: Delivery<E>, bytes = 0): void {
    if (this.ended) return;
    const waiter = this.waiting?.shift();
    if (waiter) return waiter.resolve({ value: event, done: false });
    if ((this.queue?.length ?? 0) >= this.maxQueue) return this.end(new SubscriberOverflowError(this.maxQueue));
    if (this.budget && !this.budget.take(bytes)) return;
    (this.queue ??= []).push(event);
    (this.sizes ??= []).push(this.budget ? bytes : 0);
  }

  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
    if (error) {
      this.clear();
      const waiter = this.waiting?.shift();
      if (waiter) waiter.reject(error);
      else this.failure = error;
    }
    this.resolveWaiters();
  }

  next(): Promise<IteratorResult<Delivery<E>>> {
    if (this.queue && this.queue.length > 0) return Promise.resolve({ value: this.dequeue(), done: false });
    if (this.failure) {
      const error = this.failure;
      this.failure = null;
      return Promise.reject(error);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting ??= []).push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<Delivery<E>>> {
    this.ended = true;
    this.clear();
    this.failure = null;
    this.release();
    this.resolveWaiters();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

/** A subscription as a backend holds it: fed by `push`, ended by `end`. */
export type SubscriptionQueue<E> = ReturnType<typeof createSubscriptionQueue<E>>;

/**
 * The bookkeeping every backend shares: a queue per subscription and the set
 * of open ones. `open(release)` makes a subscription whose `release` runs once
 * when it ends, however it ends.
 */
export function createSubscriptionRegistry(maxQueue: number) {
  const open = new Set<SubscriptionQueue<unknown>>();
  return {
    open<E>(release: () => void, budget?: ByteBudget): SubscriptionQueue<E> {
      const subscription = createSubscriptionQueue<E>(
        maxQueue,
        () => {
          open.delete(subscription as SubscriptionQueue<unknown>);
          release();
        },
        budget,
      );
      open.add(subscription as SubscriptionQueue<unknown>);
      return subscription;
    },
    /** Tells every open subscription that events may have been lost. */
    missedEvents(): void {
      for (const subscription of open) subscription.push(MISSED_EVENTS);
    },
    /** Ends every open subscription. */
    endAll(): void {
      for (const subscription of [...open]) subscription.end();
    },
  };
}

/** The distinct channels of one subscribe call. */
export function channelsOf(topic: Topic, keys: string | readonly string[]): string[] {
  return [...new Set(typeof keys === 'string' ? [keys] : keys)].map((key) => channelName(topic, key));
}
