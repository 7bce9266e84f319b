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
export function createSubscriptionQueue<E>(
  maxQueue: number,
  onClose: () => void,
  budget?: ByteBudget,
): Subscription<E> & {
  /** Queues an event; `bytes` is its size on the wire, for the budget. */
  push(event: Delivery<E>, bytes?: number): void;
  end(error?: Error): void;
} {
  type D = Delivery<E>;
  const queue: D[] = [];
  /** The budgeted bytes of each queued event, in queue order. */
  const sizes: number[] = [];
  const dequeue = (): D => {
    budget?.give(sizes.shift() ?? 0);
    return queue.shift()!;
  };
  const clear = () => {
    for (const bytes of sizes.splice(0)) budget?.give(bytes);
    queue.length = 0;
  };
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
    push(event: D, bytes = 0) {
      if (ended) return;
      const waiter = waiting.shift();
      if (waiter) return waiter.resolve({ value: event, done: false });
      if (queue.length >= maxQueue) return subscription.end(new SubscriberOverflowError(maxQueue));
      if (budget && !budget.take(bytes)) return;
      queue.push(event);
      sizes.push(budget ? bytes : 0);
    },
    end(error?: Error) {
      if (ended) return;
      ended = true;
      release();
      if (error) {
        clear();
        const waiter = waiting.shift();
        if (waiter) waiter.reject(error);
        else failure = error;
      }
      for (const waiter of waiting.splice(0)) waiter.resolve({ value: undefined, done: true });
    },
    next(): Promise<IteratorResult<D>> {
      if (queue.length > 0) return Promise.resolve({ value: dequeue(), done: false });
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
      clear();
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
