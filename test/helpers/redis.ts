import { Redis } from 'ioredis';
import { connectRedis, connectRedisCluster, type RedisClient } from '../../src/lib/redis';
import { startRedis, useFixture, type BackendProcess, type Fixture } from './backends';
import { startRedisCluster, type RedisClusterFixture } from './redisCluster';

/**
 * Which Redis the suites that use one run on: `TEST_REDIS=cluster` for a local
 * 3-master Redis Cluster (servers get REDIS_CLUSTER_NODES), anything else for
 * one redis-server (REDIS_URL). `npm test` runs on one Redis; `npm run
 * test:cluster` runs the same suites on a cluster.
 */
export const TEST_REDIS: 'single' | 'cluster' = process.env.TEST_REDIS === 'cluster' ? 'cluster' : 'single';

/** A private Redis, or Redis Cluster, that a test file started, seen the same way whichever it is. */
export interface TestRedis {
  mode: 'single' | 'cluster';
  /** What a server process is given to use it: REDIS_URL, or REDIS_CLUSTER_NODES. */
  env: Record<string, string>;
  /** Every node: the one redis-server, or each master. */
  nodes: BackendProcess[];
  /** The cluster, when it is one. */
  cluster: RedisClusterFixture | null;
  /** A connection as a server process makes it for `role` (a Cluster connection on a cluster). */
  connect(role: string): Promise<RedisClient>;
  /** How many connections subscribe to `channel`: PUBSUB NUMSUB, or SHARDNUMSUB summed over the masters. */
  subscribers(channel: string): Promise<number>;
  /** The name of every client connection of each node, in the order of `nodes`. */
  clientNames(): Promise<string[][]>;
  /** Every key matching `pattern`, on every node. */
  keys(pattern: string): Promise<string[]>;
  /** Stops every node: all of Redis goes away. */
  stop(): Promise<void>;
  /** Starts every node again, and waits until a cluster reports itself whole. */
  start(): Promise<void>;
  dispose(): Promise<void>;
}

/** `use` on a plain connection to each of `nodes`, closed after. */
async function onEachNode<T>(nodes: BackendProcess[], use: (node: Redis) => Promise<T>): Promise<T[]> {
  const clients = nodes.map((n) => new Redis(n.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 }));
  try {
    return await Promise.all(clients.map(async (c) => use(c)));
  } finally {
    clients.forEach((c) => c.disconnect());
  }
}

/** Starts a Redis of `mode` (TEST_REDIS unless given). */
export async function startTestRedis(mode: 'single' | 'cluster' = TEST_REDIS): Promise<TestRedis> {
  const cluster = mode === 'cluster' ? await startRedisCluster() : null;
  const single = cluster ? null : await startRedis();
  const nodes = cluster ? cluster.masters : [single!];
  return {
    mode,
    env: cluster ? { REDIS_CLUSTER_NODES: cluster.nodesVariable } : { REDIS_URL: single!.url },
    nodes,
    cluster,
    connect: (role) =>
      cluster ? connectRedisCluster({ nodes: cluster.nodes }, role) : connectRedis(single!.url, role),
    async subscribers(channel) {
      const counts = await onEachNode(nodes, async (node) => {
        const reply = cluster ? await node.pubsub('SHARDNUMSUB', channel) : await node.pubsub('NUMSUB', channel);
        return Number(reply[1]);
      });
      return counts.reduce((x, y) => x + y, 0);
    },
    async clientNames() {
      const lists = await onEachNode(nodes, async (node) => String(await node.client('LIST')));
      return lists.map((list) =>
        list
          .split('\n')
          .map((line) => /name=(\S*)/.exec(line)?.[1])
          .filter((name): name is string => name !== undefined),
      );
    },
    async keys(pattern) {
      return (await onEachNode(nodes, (node) => node.keys(pattern))).flat();
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
    async start() {
      await Promise.all(nodes.map((n) => n.start()));
      await cluster?.waitUntilHealthy();
    },
    async dispose() {
      await (cluster ? cluster.dispose() : single!.dispose());
    },
  };
}

/** A private Redis of TEST_REDIS's kind for the file's tests (see `startTestRedis`). */
export function useTestRedis(): Fixture<TestRedis> {
  return useFixture(() => startTestRedis());
}
