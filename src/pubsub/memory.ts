import type { PubSub, PubSubOptions, Subscription, Topic, Topics } from './pubsub';
import { channelName } from './pubsub';
import { channelsOf, createSubscriptionRegistry } from './queue';

/**
 * The embedded default pub/sub: channels inside this one process. Each
 * event is serialised once per publish and every subscriber gets its own
 * parsed copy, exactly as through Redis.
 */
export function createMemoryPubSub(options: PubSubOptions = {}): PubSub {
  const registry = createSubscriptionRegistry(options.maxQueue ?? 10_000);
  const listeners = new Map<string, Set<(payload: string) => void>>();

  return {
    async publish<T extends Topic>(topic: T, key: string, event: Topics[T]) {
      const channel = listeners.get(channelName(topic, key));
      if (!channel) return;
      const payload = JSON.stringify(event);
      for (const listener of channel) listener(payload);
    },

    async subscribe<T extends Topic>(topic: T, keys: string | readonly string[]): Promise<Subscription<Topics[T]>> {
      const channels = channelsOf(topic, keys);
      const listener = (payload: string) => subscription.push(JSON.parse(payload) as Topics[T]);
      const subscription = registry.open<Topics[T]>(() => {
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
      return subscription;
    },

    async close() {
      registry.endAll();
    },
  };
}
