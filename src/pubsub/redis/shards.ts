/**
 * What the Redis pub/sub needs of shard channels (Redis 7's SPUBLISH and
 * SSUBSCRIBE on a Redis Cluster, each channel on the master that owns its
 * slot), beside what graphql-redis-subscriptions and ioredis offer.
 */
import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import { groupBy } from '../../lib/group';
import type { RedisClient } from '../../lib/redis';

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

/**
 * SPUBLISHes `text` on every one of `channels` (a group message: a channel
 * per member), in one pipeline per master: each master gets its commands in
 * one write and answers them in one read, which halves Redis's CPU per
 * delivery (bench/scaling.mjs). ioredis's auto-pipelining would do this, but
 * loses MOVED redirects (redis/ioredis#2075); so a channel whose master is
 * unknown or not connected, or whose command failed in the pipeline, is sent
 * again alone, routed by ioredis, which follows MOVED and refreshes its slot
 * map (a member who gets it twice drops the copy by seq: messaging/stream.ts).
 * Resolves with the channels still not reached, and the first error.
 */
export async function spublishPerMaster(
  cluster: Cluster,
  channels: readonly string[],
  text: string,
): Promise<{ failed: string[]; error?: unknown }> {
  const byMaster = groupBy(channels, (channel) => cluster.slots[calculateSlot(channel)]?.[0] ?? '');
  const masters = new Map(cluster.nodes('master').map((node) => [`${node.options.host}:${node.options.port}`, node]));
  const alone: string[] = [];
  await Promise.all(
    [...byMaster].map(async ([key, group]) => {
      const node = masters.get(key);
      if (!node || node.status !== 'ready') return alone.push(...group);
      const replies = await node
        .pipeline(group.map((channel) => ['spublish', channel, text]))
        .exec()
        .catch(() => null);
      group.forEach((channel, i) => {
        if (!replies || replies[i]?.[0]) alone.push(channel);
      });
    }),
  );
  const outcomes = await Promise.allSettled(alone.map((channel) => cluster.spublish(channel, text)));
  const failed = alone.filter((_, i) => outcomes[i]!.status === 'rejected');
  const first = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  return first ? { failed, error: first.reason } : { failed };
}

/** Which master owns each slot, as `cluster` last heard (`host:port`, '' for none). */
export function slotOwners(cluster: Cluster): string[] {
  return Array.from({ length: 16384 }, (_, slot) => cluster.slots[slot]?.[0] ?? '');
}

/**
 * Follows a cluster connection's slot map for the channels of `listening()`,
 * and calls `onMoved` with those whose slot moved to another master (a
 * resharding, as when a master is added). Redis then unsubscribes them on the
 * old master with no word to ioredis, which subscribes them again on the new
 * one when its slot map changes (set `slotsRefreshInterval` to notice without
 * an error); what was published meanwhile is lost. `onMoved` is called once
 * that has happened: after the `subscribersReady` that follows the change,
 * once every shard subscriber has answered a PING.
 */
export function watchMovedChannels(
  subscriber: Cluster,
  listening: () => Iterable<string>,
  onMoved: (channels: string[]) => void,
): () => void {
  let owners = slotOwners(subscriber);
  const moved = new Set<string>();
  const onRefresh = () => {
    const next = slotOwners(subscriber);
    const movedSlots = new Set<number>();
    for (let slot = 0; slot < next.length; slot++)
      if (owners[slot] && owners[slot] !== next[slot]) movedSlots.add(slot);
    owners = next;
    // Every refresh (each 5 s) compares the maps; the channels are looked at only when a slot moved.
    if (movedSlots.size === 0) return;
    for (const channel of listening()) if (movedSlots.has(calculateSlot(channel))) moved.add(channel);
  };
  const onReady = () => {
    if (moved.size === 0) return;
    const channels = [...moved];
    moved.clear();
    shardSubscribersSettled(subscriber).then(
      () => onMoved(channels),
      () => onMoved(channels),
    );
  };
  subscriber.on('refresh', onRefresh);
  subscriber.on('subscribersReady', onReady);
  return () => {
    subscriber.off('refresh', onRefresh);
    subscriber.off('subscribersReady', onReady);
  };
}
