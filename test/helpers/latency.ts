import { wrapStore, type Store } from '../../src/store/store';

const pause = (maxMs: number) => new Promise((r) => setTimeout(r, Math.random() * maxMs));

/**
 * `store` as a networked database behaves: every call waits a random 0 to
 * `maxMs` before reaching the store and again before its answer returns. Work
 * that a memory store finishes in one tick then interleaves with other
 * requests, as it does against MongoDB: replays overlap sends, and publishes
 * of concurrent sends can leave in another order than they committed.
 */
export function withLatency(store: Store, maxMs = 3): Store {
  return wrapStore(store, async (call) => {
    await pause(maxMs);
    const result = await call();
    await pause(maxMs);
    return result;
  });
}
