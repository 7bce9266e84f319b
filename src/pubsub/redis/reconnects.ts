import type { RedisClient } from '../../lib/redis';
import { shardSubscribersHealthy, shardSubscribersSettled } from './shards';

/** What `watchReconnects` reports, and how to stop it. */
export interface ReconnectWatch {
  /** Whether the subscriber connection (on a cluster: any master's) dropped and is not back in effect yet. */
  interrupted(): boolean;
  /** Reconnections that took effect so far. */
  reconnects(): number;
  stop(): void;
}

/**
 * Tells when the subscriber connection came back from a drop with its
 * subscriptions in effect again, so that every open subscription can be told
 * it may have missed events (`onResumed`). Redis keeps nothing for a
 * disconnected subscriber; ioredis re-subscribes by itself.
 *
 * On one Redis: after `ready`, a PING, which Redis answers after the
 * SUBSCRIBEs ioredis sent on reconnecting. On a cluster, each master's shard
 * subscriber drops alone (`-node`); ioredis re-creates it, re-subscribes its
 * channels and says `subscribersReady` after every attempt: only once every
 * master is back and settled, and none dropped again meanwhile.
 */
export function watchReconnects(subscriber: RedisClient, sharded: boolean, onResumed: () => void): ReconnectWatch {
  let interrupted = false;
  let reconnects = 0;
  const resumed = () => {
    reconnects++;
    onResumed();
  };

  const onClose = () => {
    interrupted = true;
  };
  const onReady = () => {
    if (!interrupted) return;
    interrupted = false;
    subscriber.ping().then(resumed, () => {
      interrupted = true;
    });
  };

  let drops = 0;
  let settling = false;
  const onShardDropped = () => {
    drops++;
    interrupted = true;
  };
  const onShardsReady = () => {
    if (!interrupted || settling || !shardSubscribersHealthy(subscriber)) return;
    settling = true;
    const seen = drops;
    shardSubscribersSettled(subscriber).then(
      () => {
        settling = false;
        // A master dropped again meanwhile: its channels are not live yet.
        if (drops !== seen) return onShardsReady();
        interrupted = false;
        resumed();
      },
      () => {
        settling = false;
        setTimeout(onShardsReady, 500).unref();
      },
    );
  };

  const [closed, ready] = sharded ? ['-node', 'subscribersReady'] : ['close', 'ready'];
  const [onDropped, onBack] = sharded ? [onShardDropped, onShardsReady] : [onClose, onReady];
  subscriber.on(closed, onDropped);
  subscriber.on(ready, onBack);
  return {
    interrupted: () => interrupted,
    reconnects: () => reconnects,
    stop() {
      subscriber.off(closed, onDropped);
      subscriber.off(ready, onBack);
    },
  };
}
