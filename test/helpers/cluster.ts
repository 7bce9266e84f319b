import { randomBytes } from 'node:crypto';
import { LIMITS_OFF } from './limitsOff';
import { startFerretDB, useFixture, type BackendProcess, type Fixture } from './backends';
import { gqlOk, type SubscriptionQueue, type TestUser } from './client';
import { startServerProcess, type ServerProcess } from './process';
import { startTestRedis, TEST_REDIS, type TestRedis } from './redis';

/** Server processes sharing one FerretDB and one Redis, as behind a load balancer. */
export interface Cluster {
  mongo: BackendProcess;
  /** The Redis (one redis-server, or a Redis Cluster) the processes share. */
  redis: TestRedis;
  /** Environment every process of this cluster gets. */
  env: Record<string, string>;
  /** Starts one more server process; `extra` adds to its environment. */
  start(extra?: Record<string, string>): Promise<ServerProcess>;
  /** Stops every server process (SIGTERM) and both backends. */
  dispose(): Promise<void>;
}

/** Options of `startCluster`. */
export interface ClusterOptions {
  /** One redis-server, or a 3-master Redis Cluster. @default TEST_REDIS */
  redis?: 'single' | 'cluster';
}

/** Starts FerretDB and Redis (see ClusterOptions), ready for server processes. */
export async function startCluster({ redis: mode = TEST_REDIS }: ClusterOptions = {}): Promise<Cluster> {
  const [mongo, redis] = await Promise.all([startFerretDB(), startTestRedis(mode)]);
  const env = {
    MONGODB_URI: mongo.url,
    MONGODB_DB: `chat_${randomBytes(4).toString('hex')}`,
    ...redis.env,
    JWT_SECRET: 'cluster-secret-cluster-secret-cluster-secret',
    LOG_LEVEL: 'info',
    ...LIMITS_OFF,
  };
  const processes: ServerProcess[] = [];
  return {
    mongo,
    redis,
    env,
    async start(extra = {}) {
      const server = await startServerProcess({ ...env, ...extra });
      processes.push(server);
      return server;
    },
    async dispose() {
      for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
      await Promise.all(processes.map((p) => p.exited));
      await Promise.all([mongo.dispose(), redis.dispose()]);
    },
  };
}

/** Starts a cluster's backends before the file's tests and disposes of it after them. */
export function useCluster(options: ClusterOptions = {}): Fixture<Cluster> {
  return useFixture(() => startCluster(options));
}

const SEND_PROBE = 'mutation($c: ID!) { sendMessage(conversationId: $c, content: "probe") { id seq } }';

/**
 * Probes in rounds until each subscription has received something, then once
 * more with a probe every one of them receives, and reads each up to it. A
 * subscription cannot be observed on another process, so this is how a test
 * knows they are all live. `poke(round)` sends a probe; `isLast(item)` tells
 * the final probe's result.
 */
async function untilLive<T>(
  subs: SubscriptionQueue<any>[],
  poke: (round: number) => Promise<unknown>,
  last: () => Promise<T>,
  isLast: (item: any, marker: T) => boolean,
): Promise<T> {
  const waiting = new Set(subs);
  for (let round = 0; waiting.size > 0; round++) {
    if (round === 60) throw new Error(`probe: ${waiting.size} subscription(s) never became live`);
    await poke(round);
    await Promise.all(
      [...waiting].map(async (sub) => {
        const received = await sub.take(1, 500).then(
          () => true,
          () => false,
        );
        if (received) waiting.delete(sub);
      }),
    );
  }
  const marker = await last();
  await Promise.all(
    subs.map(async (sub) => {
      for (;;) {
        const [got] = await sub.take(1, 20_000);
        if (isLast(got, marker)) return;
      }
    }),
  );
  return marker;
}

/**
 * Waits until every messageAdded subscription is live on its server, and
 * returns the seq after which each of them receives everything (probe
 * messages sent by `sender` in `conversationId`).
 */
export async function probe(
  url: string,
  sender: TestUser,
  conversationId: string,
  subs: SubscriptionQueue<any>[],
): Promise<number> {
  const send = async () =>
    (await gqlOk(url, SEND_PROBE, { c: conversationId }, sender.token)).sendMessage as { id: string; seq: number };
  const last = await untilLive(subs, send, send, (got, marker) => got.messageAdded.id === marker.id);
  return last.seq;
}

/**
 * Waits until every conversationEvent subscription is live on its server:
 * toggles `sender`'s reaction on a probe message in `conversationId`, then
 * reads each subscription up to one last, recognisable reaction.
 */
export async function probeEvents(
  url: string,
  sender: TestUser,
  conversationId: string,
  subs: SubscriptionQueue<any>[],
): Promise<void> {
  const m = (await gqlOk(url, SEND_PROBE, { c: conversationId }, sender.token)).sendMessage.id;
  const react = (emoji: string, add = true) =>
    gqlOk(
      url,
      `mutation($m: ID!, $e: String!) { ${add ? 'addReaction' : 'removeReaction'}(messageId: $m, emoji: $e) { id } }`,
      { m, e: emoji },
      sender.token,
    );
  await untilLive(
    subs,
    (round) => react('🔔', round % 2 === 0),
    () => react('🏁'),
    (got) => got.conversationEvent.message?.reactions.some((r: { emoji: string }) => r.emoji === '🏁') ?? false,
  );
}
