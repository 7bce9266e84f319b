import { Cluster, Redis } from 'ioredis';
import { fixShardedSubscriberStop } from './ioredisShardedStop';
import type { Logger } from './log';

/** A connection to one Redis, or to a Redis Cluster: the commands this project uses work on either. */
export type RedisClient = Redis | Cluster;

/** Where a Redis Cluster is: some of its nodes (seeds); the rest are discovered from them. */
export interface ClusterSeeds {
  nodes: { host: string; port: number }[];
  /** Where to reach a node at an address other than the one it announces (`host:port` → address), behind NAT. */
  natMap?: Record<string, { host: string; port: number }>;
}

/** Logs a connection's first error of an outage and its return, once each. */
function logOutages(client: RedisClient, role: string, log?: Logger): void {
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) log?.warn(`redis (${role}): ${error.message}`);
    down = true;
  });
  client.on('ready', () => {
    if (down) log?.info(`redis (${role}): connected again`);
    down = false;
  });
}

/**
 * A Redis connection for `role`. Commands fail at once while disconnected
 * instead of queueing: a send during an outage is answered promptly (the
 * message is stored; subscribers catch up when Redis is back).
 */
export async function connectRedis(url: string, role: string, log?: Logger): Promise<Redis> {
  const client = new Redis(url, {
    connectionName: `chat-api:${role}`,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
  });
  logOutages(client, role, log);
  await client.connect();
  return client;
}

/**
 * A Redis Cluster connection for `role`, as `connectRedis` behaves for one
 * Redis. The `subscriber` role subscribes to shard channels (SSUBSCRIBE), each
 * on a connection to the master that owns the channel's slot.
 *
 * No auto-pipelining: ioredis answers MOVED for a whole auto-pipeline only
 * when every command in it got the same error (redis/ioredis#2075), so after
 * a master restarts, commands for its slots batched with others fail with
 * MOVED for ever instead of following the redirect. Measured here: every
 * SPUBLISH to a restarted master's channels failed until the process ended.
 */
export async function connectRedisCluster(
  seeds: ClusterSeeds,
  role: string,
  log?: Logger,
  { connectTimeoutMs = 10_000 }: { connectTimeoutMs?: number } = {},
): Promise<Cluster> {
  if (role === 'subscriber') fixShardedSubscriberStop();
  const client = new Cluster(seeds.nodes, {
    lazyConnect: true,
    enableOfflineQueue: false,
    shardedSubscribers: role === 'subscriber',
    ...(seeds.natMap ? { natMap: seeds.natMap } : {}),
    clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    // A command for a master that is away fails after three tries, 100 ms apart, as one for a single
    // Redis that is away fails at once (ioredis' default of 16 held every send for seconds).
    maxRedirections: 3,
    // The slot map is read again every 5 s, so that a slot moved to another master (a resharding) is
    // noticed without an error: shard channels in it are then subscribed again where they now live.
    slotsRefreshInterval: 5000,
    redisOptions: {
      connectionName: `chat-api:${role}`,
      maxRetriesPerRequest: 1,
    },
  });
  logOutages(client, role, log);
  // ioredis keeps trying a cluster it cannot use (no node answers with usable slots) without ever failing.
  let timer: NodeJS.Timeout | undefined;
  const giveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no usable cluster after ${connectTimeoutMs} ms`)), connectTimeoutMs);
  });
  try {
    await Promise.race([client.connect(), giveUp]);
  } catch (error) {
    client.disconnect();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return client;
}
