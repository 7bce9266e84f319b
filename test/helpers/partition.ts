import { createServer, Socket, type Server } from 'node:net';
import { connectRedis, connectRedisCluster, type RedisClient } from '../../src/lib/redis';
import { freePort } from './backends';
import type { TestRedis } from './redis';

/**
 * A TCP relay to `targetPort` that can be cut: a network partition between a
 * client and a server that keeps running, and keeps its data.
 */
export interface Partition {
  /** Where clients connect instead of the server. */
  port: number;
  /** Drops every relayed connection and refuses new ones, until `heal`. */
  cut(): Promise<void>;
  /** Accepts and relays connections again, on the same port. */
  heal(): Promise<void>;
  dispose(): Promise<void>;
}

/** Starts a relay from a free port to 127.0.0.1:`targetPort`. */
export async function startPartition(targetPort: number): Promise<Partition> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const relay = createServer((client) => {
        const upstream = new Socket();
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.once('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        upstream.connect(targetPort, '127.0.0.1');
        client.pipe(upstream).pipe(client);
        client.once('close', () => upstream.destroy());
        upstream.once('close', () => client.destroy());
      });
      relay.once('error', reject);
      relay.listen(port, '127.0.0.1', () => resolve());
      server = relay;
    });
  const stop = async () => {
    const running = server;
    server = null;
    for (const s of sockets) s.destroy();
    if (running) await new Promise((r) => running.close(r));
  };
  await listen();
  return { port, cut: stop, heal: () => (server ? Promise.resolve() : listen()), dispose: stop };
}

/** Connections to a TestRedis that go through relays, one per node, all cut and healed together. */
export interface RedisPartition {
  /** A connection for `role` as a server process makes it, through the relays. */
  connect(role: string): Promise<RedisClient>;
  cut(): Promise<void>;
  heal(): Promise<void>;
  dispose(): Promise<void>;
}

/** Relays to every node of `redis`; on a cluster, the nodes' announced addresses are mapped to them. */
export async function partitionRedis(redis: TestRedis): Promise<RedisPartition> {
  const relays = await Promise.all(redis.nodes.map((node) => startPartition(node.port)));
  const natMap = Object.fromEntries(
    redis.nodes.map((node, i) => [`127.0.0.1:${node.port}`, { host: '127.0.0.1', port: relays[i]!.port }]),
  );
  const nodes = relays.map((relay) => ({ host: '127.0.0.1', port: relay.port }));
  return {
    connect: (role) =>
      redis.cluster
        ? connectRedisCluster({ nodes, natMap }, role)
        : connectRedis(`redis://127.0.0.1:${relays[0]!.port}`, role),
    cut: async () => void (await Promise.all(relays.map((r) => r.cut()))),
    heal: async () => void (await Promise.all(relays.map((r) => r.heal()))),
    dispose: async () => void (await Promise.all(relays.map((r) => r.dispose()))),
  };
}
