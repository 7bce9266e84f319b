/**
 * A workaround for an ioredis bug (5.11.1 and 6.0.0 alike) that can leave a
 * Redis Cluster's shard subscribers dead for good after the whole cluster
 * restarts.
 *
 * ioredis keeps one ShardedSubscriber per master. Its `start()` awaits the
 * connection's `connect()`, which settles on the connection's `ready` or
 * `close` event; `stop()` disconnects and then at once removes every listener
 * of the connection. A `stop()` while the connection is still connecting
 * (the cluster's reconnect stops every subscriber, the subscriber group's
 * `reset()` may be starting one) removes the listener that would have
 * rejected `connect()`, so `start()` never settles. The group's `reset()`
 * awaits its starts, so it never finishes either, and since it holds the
 * group's "resetting" flag, every later reset is parked behind it: no shard
 * subscriber is created, no channel subscribed, no `subscribersReady` said,
 * ever again in the process (test/multiprocess/faults.test.ts caught it about
 * one run in four on a Redis Cluster; test/backends/pubsub.cluster.test.ts
 * reproduces it directly).
 *
 * The fix: a subscriber stopped while starting rejects its `start()`, which
 * the group already handles as a failed connection (it retries after a
 * refresh of the slot map).
 */
import { createRequire } from 'node:module';

/** What is used of ioredis's ShardedSubscriber (internal: not part of its typed API). */
interface ShardedSubscriberPrototype {
  start(this: object): Promise<void>;
  stop(this: object): void;
}

const aborts = new WeakMap<object, (error: Error) => void>();
let applied = false;

/** Applies the workaround once per process; a no-op if ioredis no longer has the module. */
export function fixShardedSubscriberStop(): void {
  if (applied) return;
  applied = true;
  let proto: ShardedSubscriberPrototype | undefined;
  try {
    const required = createRequire(__filename)('ioredis/built/cluster/ShardedSubscriber') as {
      default?: { prototype?: ShardedSubscriberPrototype };
    };
    proto = required.default?.prototype;
  } catch {
    return;
  }
  if (typeof proto?.start !== 'function' || typeof proto.stop !== 'function') return;
  const { start, stop } = proto;
  proto.start = function (this: object) {
    return new Promise<void>((resolve, reject) => {
      aborts.set(this, reject);
      start.call(this).then(resolve, reject);
    }).finally(() => aborts.delete(this));
  };
  proto.stop = function (this: object) {
    const abort = aborts.get(this);
    stop.call(this);
    abort?.(new Error('Sharded subscriber stopped while connecting'));
  };
}
