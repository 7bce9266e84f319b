import type { Store } from '../../src/store/store';

const pause = (maxMs: number) => new Promise((r) => setTimeout(r, Math.random() * maxMs));

/**
 * `store` as a networked database behaves: every call waits a random 0 to
 * `maxMs` before reaching the store and again before its answer returns. Work
 * that a memory store finishes in one tick then interleaves with other
 * requests, as it does against MongoDB: replays overlap sends, and publishes
 * of concurrent sends can leave in another order than they committed.
 */
export function withLatency(store: Store, maxMs = 3): Store {
  const wrap = <T extends object>(part: T): T =>
    new Proxy(part, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          await pause(maxMs);
          const result = await value.apply(target, args);
          await pause(maxMs);
          return result;
        };
      },
    });
  return {
    users: wrap(store.users),
    friends: wrap(store.friends),
    conversations: wrap(store.conversations),
    messages: wrap(store.messages),
    pushTokens: wrap(store.pushTokens),
    close: () => store.close(),
  };
}
