import type { PubSub, PubSubOptions, SubscribeOptions, Subscription, Topic, Topics } from './pubsub';
import { channelName } from './pubsub';
import { channelsOf, createSubscriptionRegistry } from './queue';

/**
 * The embedded default pub/sub: channels inside this one process. Each
 * event is serialised and parsed once per publish, and that copy (never the
 * publisher's object) is shared by the subscribers of every channel it was
 * published on, as the Redis pub/sub shares one parse among a process's listeners.
 */
export function createMemoryPubSub(options: PubSubOptions = {}): PubSub {
  const registry = createSubscriptionRegistry(options.maxQueue ?? 10_000);
  const listeners = new Map<string, Set<(event: unknown, bytes: number) => void>>();

  return {
    // One process: there is no connection to lose.
    reconnects: () => 0,
    async publish<T extends Topic>(topic: T, keys: string | readonly string[], event: Topics[T]) {
      let payload: string | undefined;
      let copy: unknown;
      for (const key of typeof keys === 'string' ? [keys] : keys) {
        const channel = listeners.get(channelName(topic, key));
        if (!channel) continue;
        if (payload === undefined) {
          payload = JSON.stringify(event);
          copy = JSON.parse(payload);
        }
        for (const listener of channel) listener(copy, payload.length);
      }
    },

    async subscribe<T extends Topic>(
      topic: T,
      keys: string | readonly string[],
      options: SubscribeOptions = {},
    ): Promise<Subscription<Topics[T]>> {
      const channels = channelsOf(topic, keys);
      const listener = (event: unknown, bytes: number) => subscription.push(event as Topics[T], bytes);
      const subscription = registry.open<Topics[T]>(() => {
        for (const channel of channels) {
          const set = listeners.get(channel);
          set?.delete(listener);
          if (set?.size === 0) listeners.delete(channel);
        }
      }, options.budget);
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
