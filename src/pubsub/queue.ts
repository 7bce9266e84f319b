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
 * backend ends the subscription.
 */
export function createSubscriptionQueue<E>(
  maxQueue: number,
  onClose: () => void,
): Subscription<E> & {
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
    open<E>(release: () => void): SubscriptionQueue<E> {
      const subscription = createSubscriptionQueue<E>(maxQueue, () => {
        open.delete(subscription as SubscriptionQueue<unknown>);
        release();
      });
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
