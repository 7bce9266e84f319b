/**
 * What the Redis pub/sub needs of shard channels (Redis 7's SPUBLISH and
 * SSUBSCRIBE on a Redis Cluster, each channel on the master that owns its
 * slot), beside what graphql-redis-subscriptions and ioredis offer.
 */
import type { Redis } from 'ioredis';
import type { RedisClient } from '../lib/redis';

/** What ioredis keeps of a cluster's shard subscribers (not part of its typed API). */
type ShardSubscriberGroup = {
  hasUnhealthySubscribers?: () => boolean;
  shardedSubscribers?: Map<string, { getInstance?: () => Redis | null }>;
};

function groupOf(client: RedisClient): ShardSubscriberGroup | undefined {
  return (client as unknown as { shardedSubscribers?: ShardSubscriberGroup }).shardedSubscribers;
}

/**
 * Whether every master's shard subscriber of a cluster connection is up.
 * ioredis has no public API for it; should its internals change, this says
 * yes, and a reconnect is reported at its first `subscribersReady` as before.
 */
export function shardSubscribersHealthy(client: RedisClient): boolean {
  const group = groupOf(client);
  return typeof group?.hasUnhealthySubscribers === 'function' ? !group.hasUnhealthySubscribers() : true;
}

/**
 * Resolves once every shard subscriber has answered a PING. ioredis says
 * `subscribersReady` as soon as it has written the SSUBSCRIBEs of a
 * reconnected master, without waiting for their answers; a PING on the same
 * connection is answered after them, so past it the channels are live.
 */
export async function shardSubscribersSettled(client: RedisClient): Promise<void> {
  const subscribers = groupOf(client)?.shardedSubscribers;
  if (!(subscribers instanceof Map)) return;
  const connections = [...subscribers.values()].map((s) => s.getInstance?.()).filter((c) => c != null);
  await Promise.all(connections.map((c) => c.ping()));
}

/**
 * `client` with RedisPubSub's classic pub/sub commands turned into their
 * shard-channel equivalents (graphql-redis-subscriptions knows only the
 * classic ones): SUBSCRIBE → SSUBSCRIBE, UNSUBSCRIBE → SUNSUBSCRIBE,
 * PUBLISH → SPUBLISH. Patterns have no sharded form and are never used here.
 */
export function asShardChannels<C extends RedisClient>(client: C): C {
  const renamed: Record<string, string> = { subscribe: 'ssubscribe', unsubscribe: 'sunsubscribe', publish: 'spublish' };
  return new Proxy(client, {
    get(target, property) {
      if (property === 'punsubscribe') return () => Promise.resolve(0);
      const name = typeof property === 'string' ? (renamed[property] ?? property) : property;
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
