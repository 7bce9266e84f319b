import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import type { Config } from './config';
import type { Logger } from './log';
import { createMemoryPubSub } from './pubsub/memory';
import type { PubSub } from './pubsub/pubsub';
import { createRedisPubSub } from './pubsub/redis';
import { createMemoryStore } from './store/memory';
import { createMongoStore, ensureIndexes } from './store/mongo';
import type { Store } from './store/store';

/** The store and pub/sub a server runs on, and how to release them. */
export interface Backends {
  store: Store;
  pubsub: PubSub;
  /** The Redis connection for everything but pub/sub (leases, registry), when there is Redis. */
  redis: Redis | null;
  /** Closes pub/sub, then store, then every connection. */
  close(): Promise<void>;
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
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) log?.warn(`redis (${role}): ${error.message}`);
    down = true;
  });
  client.on('ready', () => {
    if (down) log?.info(`redis (${role}): connected again`);
    down = false;
  });
  await client.connect();
  return client;
}

/** A connected MongoDB database with the chat collections' indexes in place. */
export async function connectMongo(uri: string, dbName: string | undefined): Promise<{ client: MongoClient; store: Store }> {
  const client = await new MongoClient(uri, { serverSelectionTimeoutMS: 5000 }).connect();
  const db = client.db(dbName);
  await ensureIndexes(db);
  return { client, store: createMongoStore(db) };
}

/**
 * The backends `config` asks for: MongoDB when MONGODB_URI is set, Redis when
 * REDIS_URL is set, else the embedded default (memory store, in-process pub/sub).
 */
export async function openBackends(config: Config, log: Logger): Promise<Backends> {
  const closers: (() => Promise<unknown>)[] = [];
  try {
    let store: Store;
    if (config.mongodbUri) {
      const mongo = await connectMongo(config.mongodbUri, config.mongodbDb);
      closers.push(() => mongo.client.close());
      store = mongo.store;
      log.info(`store: MongoDB (database "${mongo.client.db(config.mongodbDb).databaseName}")`);
    } else {
      store = createMemoryStore();
      log.info('store: in-memory (embedded default; data is lost on exit)');
    }
    let pubsub: PubSub;
    let redis: Redis | null = null;
    if (config.redisUrl) {
      const [publisher, subscriber, general] = await Promise.all(
        ['publisher', 'subscriber', 'general'].map((role) => connectRedis(config.redisUrl!, role, log)),
      );
      closers.push(() => Promise.all([publisher, subscriber, general].map((c) => c!.quit().catch(() => c!.disconnect()))));
      pubsub = createRedisPubSub({ publisher: publisher!, subscriber: subscriber! });
      redis = general!;
      log.info('pub/sub: Redis (processes sharing this Redis deliver to each other)');
    } else {
      pubsub = createMemoryPubSub();
      log.info('pub/sub: in-process (single process)');
    }
    return {
      store,
      pubsub,
      redis,
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
