import { randomBytes } from 'node:crypto';
import { startFerretDB, startRedis, useFixture, type BackendProcess, type Fixture } from './backends';
import { gqlOk, type SubscriptionQueue, type TestUser } from './client';
import { startServerProcess, type ServerProcess } from './process';

/** Server processes sharing one FerretDB and one Redis, as behind a load balancer. */
export interface Cluster {
  mongo: BackendProcess;
  redis: BackendProcess;
  /** Environment every process of this cluster gets. */
  env: Record<string, string>;
  /** Starts one more server process; `extra` adds to its environment. */
  start(extra?: Record<string, string>): Promise<ServerProcess>;
  /** Stops every server process (SIGTERM) and both backends. */
  dispose(): Promise<void>;
}

/** Starts FerretDB and Redis, ready for server processes. */
export async function startCluster(): Promise<Cluster> {
  const [mongo, redis] = await Promise.all([startFerretDB(), startRedis()]);
  const env = {
    MONGODB_URI: mongo.url,
    MONGODB_DB: `chat_${randomBytes(4).toString('hex')}`,
    REDIS_URL: redis.url,
    JWT_SECRET: 'cluster-secret-cluster-secret-cluster-secret',
    LOG_LEVEL: 'info',
    AUTH_RATE_BURST: '100000',
    GROUP_RATE_BURST: '100000',
    GROUP_RATE_PER_SECOND: '100000',
    LOGIN_FAILURE_BURST: '100000',
    LOGIN_FAILURE_PER_SECOND: '100000',
    PASSWORD_HASH_QUEUE: '100000',
    MESSAGE_RATE_BURST: '100000',
    MESSAGE_RATE_PER_SECOND: '100000',
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
export function useCluster(): Fixture<Cluster> {
  return useFixture(startCluster);
}

/**
 * Waits until every subscription is live on its server, and returns the seq
 * after which each of them receives everything. A subscription without
 * `after` delivers what is committed after it started, so probes are sent in
 * rounds until each one has received some probe; then one last probe, which
 * every subscription receives, is read up to by all of them.
 */
export async function probe(
  url: string,
  sender: TestUser,
  conversationId: string,
  subs: SubscriptionQueue<any>[],
): Promise<number> {
  const send = async () =>
    (
      await gqlOk(
        url,
        'mutation($c: ID!) { sendMessage(conversationId: $c, content: "probe") { id seq } }',
        { c: conversationId },
        sender.token,
      )
    ).sendMessage as { id: string; seq: number };
  const waiting = new Set(subs);
  for (let round = 0; waiting.size > 0; round++) {
    if (round === 60) throw new Error(`probe: ${waiting.size} subscription(s) never became live`);
    await send();
    await Promise.all(
      [...waiting].map(async (sub) => {
        if (
          await sub.take(1, 500).then(
            () => true,
            () => false,
          )
        )
          waiting.delete(sub);
      }),
    );
  }
  const last = await send();
  await Promise.all(
    subs.map(async (sub) => {
      for (;;) {
        const [got] = await sub.take(1, 20_000);
        if (got.messageAdded.id === last.id) return;
      }
    }),
  );
  return last.seq;
}
