import { connectRedis, connectRedisCluster, type RedisClient } from '../lib/redis';
import type { WorkerLease, WorkerLeaseOptions } from '../cluster/workerLease/lease';
import { leaseWorkerIdFromMongo } from '../cluster/workerLease/mongo';
import { leaseWorkerId } from '../cluster/workerLease/redis';
import { ConfigError, type Config } from '../config';
import type { Logger } from '../lib/log';
import { createLocalMediaStore } from '../media/local';
import type { MediaStore } from '../media/media';
import { createS3Client, createS3MediaStore } from '../media/s3';

import { createMemoryPubSub } from '../pubsub/memory';
import type { PubSub } from '../pubsub/pubsub';
import { createRedisPubSub } from '../pubsub/redis';
import { createMemoryStore } from '../store/memory';
import { connectMongo, MigrationError } from '../store/mongo';
import type { Store } from '../store/store';

/** The store and pub/sub a server runs on, and how to release them. */
export interface Backends {
  store: Store;
  pubsub: PubSub;
  /** Media blobs: S3 when S3_BUCKET is set, else the local directory MEDIA_DIR. */
  media: MediaStore;
  /** The Redis connection for everything but pub/sub (leases, registry), when there is Redis. */
  redis: RedisClient | null;
  /**
   * Where this process leases its Snowflake worker id, so that no two processes sharing these
   * backends issue the same ids: Redis when there is Redis, else the store. Null on the embedded
   * default, where one process is alone. A new store that can be shared provides its own.
   */
  workerLease: { from: string; lease(options: WorkerLeaseOptions): Promise<WorkerLease> } | null;
  /** What keeps this process from serving fully right now (a backend it cannot reach); empty when ready. */
  readiness(): Promise<string[]>;
  /** Closes pub/sub, then store, then every connection. */
  close(): Promise<void>;
}

/** A connection string fit for a log line: any password replaced. */
function withoutPassword(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** How long a readiness probe waits for a backend's answer. */
const PROBE_MS = 2000;

/** `problem` unless `check` succeeds within PROBE_MS. */
async function probe(problem: string, check: () => Promise<unknown>): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), PROBE_MS)));
  try {
    const outcome = await Promise.race([check().then(() => 'ok' as const), late]);
    return outcome === 'ok' ? null : `${problem}: no answer within ${PROBE_MS} ms`;
  } catch (error) {
    return `${problem}: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The backends `config` asks for: MongoDB when MONGODB_URI is set, Redis when
 * REDIS_URL is set (a Redis Cluster with REDIS_CLUSTER_NODES), S3 when S3_BUCKET is set,
 * else the embedded default (memory store, in-process pub/sub, media in a local directory).
 */
export async function openBackends(config: Config, log: Logger): Promise<Backends> {
  const closers: (() => Promise<unknown>)[] = [];
  try {
    let store: Store;
    let workerLease: Backends['workerLease'] = null;
    const probes: (() => Promise<string | null>)[] = [];
    if (config.mongodbUri) {
      const mongo = await connectMongo(config.mongodbUri, config.mongodbDb, {
        timeoutMs: config.mongodbTimeoutMs,
        log,
      }).catch((error: Error) => {
        if (error instanceof MigrationError) throw new ConfigError(`MONGODB_URI: ${error.message}`);
        throw new ConfigError(
          `MONGODB_URI: cannot connect to ${withoutPassword(config.mongodbUri!)}: ${error.message}`,
        );
      });
      closers.push(() => mongo.client.close());
      store = mongo.store;
      workerLease = { from: 'MongoDB', lease: (options) => leaseWorkerIdFromMongo(mongo.db, options) };
      probes.push(() => probe('MongoDB unreachable', () => mongo.db.command({ ping: 1 })));
      log.info(`store: MongoDB (database "${mongo.db.databaseName}")`);
    } else {
      store = createMemoryStore();
      log.info('store: in-memory (embedded default; data is lost on exit)');
    }
    let pubsub: PubSub;
    let redis: RedisClient | null = null;
    const cluster = config.redisClusterNodes;
    if (config.redisUrl || cluster) {
      const variable = cluster ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL';
      const where = cluster ? cluster.map((n) => `${n.host}:${n.port}`).join(',') : withoutPassword(config.redisUrl!);
      const connect = (role: string): Promise<RedisClient> =>
        cluster ? connectRedisCluster({ nodes: cluster }, role, log) : connectRedis(config.redisUrl!, role, log);
      // The process ends on this error (main.ts), so connections that did not come up need no closing.
      const [publisher, subscriber, general] = await Promise.all(
        ['publisher', 'subscriber', 'general'].map(connect),
      ).catch((error: Error) => {
        throw new ConfigError(`${variable}: cannot connect to ${where}: ${error.message}`);
      });
      closers.push(() =>
        Promise.all([publisher, subscriber, general].map((c) => c!.quit().catch(() => c!.disconnect()))),
      );
      pubsub = createRedisPubSub({
        publisher: publisher!,
        subscriber: subscriber!,
        sharded: cluster !== undefined,
        // An UNSUBSCRIBE lost in an outage: the listener is gone here, and what Redis still sends that channel is dropped.
        onBackgroundError: (error) => log.debug(`redis (subscriber): ${error.message}`),
      });
      redis = general!;
      workerLease = { from: 'Redis', lease: (options) => leaseWorkerId(general!, options) };
      const connections = { publisher: publisher!, subscriber: subscriber!, general: general! };
      for (const [role, client] of Object.entries(connections)) {
        probes.push(async () =>
          client.status === 'ready' ? null : `Redis unreachable (${role} connection ${client.status})`,
        );
      }
      probes.push(() => probe('Redis unreachable', () => general!.ping()));
      log.info(
        cluster
          ? `pub/sub: Redis Cluster, shard channels (seed nodes ${where})`
          : 'pub/sub: Redis (processes sharing this Redis deliver to each other)',
      );
    } else {
      pubsub = createMemoryPubSub();
      log.info('pub/sub: in-process (single process)');
    }
    let media: MediaStore;
    if (config.s3) {
      const client = createS3Client(config.s3);
      closers.push(async () => client.destroy());
      media = createS3MediaStore(client, { bucket: config.s3.bucket });
      log.info(`media: S3 bucket "${config.s3.bucket}" at ${config.s3.endpoint ?? `AWS S3 (${config.s3.region})`}`);
    } else {
      media = createLocalMediaStore({
        dir: config.mediaDir,
        secret: config.mediaSecret,
        origin: config.mediaPublicUrl,
      });
      log.info(`media: local directory ${config.mediaDir} (embedded default; served by this server at /media)`);
    }
    return {
      store,
      pubsub,
      media,
      redis,
      workerLease,
      async readiness() {
        const problems = await Promise.all(probes.map((check) => check()));
        return [...new Set(problems.filter((p): p is string => p !== null))];
      },
      async close() {
        await pubsub.close();
        await store.close();
        for (const close of closers.reverse()) await close();
      },
    };
  } catch (error) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw error;
  }
}
