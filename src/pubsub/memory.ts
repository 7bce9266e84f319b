import {
  channelName,
  createSubscriptionQueue,
  type PubSub,
  type PubSubOptions,
  type Subscription,
  type Topic,
  type Topics,
} from './pubsub';

/**
 * The embedded default pub/sub: channels inside this one process. Each
 * event is serialised once per publish and every subscriber gets its own
 * parsed copy, exactly as through Redis.
 */
export function createMemoryPubSub(options: PubSubOptions = {}): PubSub {
  const maxQueue = options.maxQueue ?? 10_000;
  const listeners = new Map<string, Set<(payload: string) => void>>();
  const open = new Set<{ end(error?: Error): void }>();

  return {
    async publish<T extends Topic>(topic: T, key: string, event: Topics[T]) {
      const channel = listeners.get(channelName(topic, key));
      if (!channel) return;
      const payload = JSON.stringify(event);
      for (const listener of channel) listener(payload);
    },

    async subscribe<T extends Topic>(topic: T, keys: string | readonly string[]): Promise<Subscription<Topics[T]>> {
      const channels = [...new Set(typeof keys === 'string' ? [keys] : keys)].map((key) => channelName(topic, key));
      const listener = (payload: string) => subscription.push(JSON.parse(payload) as Topics[T]);
      const subscription = createSubscriptionQueue<Topics[T]>(maxQueue, () => {
        open.delete(subscription);
        for (const channel of channels) {
          const set = listeners.get(channel);
          set?.delete(listener);
          if (set?.size === 0) listeners.delete(channel);
        }
      });
      for (const channel of channels) {
        let set = listeners.get(channel);
        if (!set) listeners.set(channel, (set = new Set()));
        set.add(listener);
      }
      open.add(subscription);
      return subscription;
    },

    async close() {
      for (const subscription of [...open]) subscription.end();
    },
  };
}
