import { loadConfig, type Config } from '../../src/config';
import { LIMITS_OFF } from './limitsOff';
import { createLogger, type Logger } from '../../src/lib/log';
import type { ServerOptions, RunningServer } from '../../src/server/server';
import { startServer } from '../../src/server/server';
import { createMemoryPubSub } from '../../src/pubsub/memory';
import type { PubSub, SubscribeOptions, Subscription, Topic, Topics } from '../../src/pubsub/pubsub';
import { createMemoryStore } from '../../src/store/memory';
import type { Store } from '../../src/store/store';

/** A fixed secret, so that tests can forge and expire tokens on purpose. */
export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-0123456789';

/** Configuration for tests: port 0, quiet, limits out of the way unless a test sets them. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    ...LIMITS_OFF,
    ...env,
  });
}

/**
 * A PubSub that counts live subscriptions per channel, so that a test can
 * wait until a subscription has reached the server before it sends.
 */
export interface ObservedPubSub extends PubSub {
  /** Resolves once `key` of `topic` has at least `count` live subscriptions. */
  waitForSubscribers(topic: Topic, key: string, count?: number, timeoutMs?: number): Promise<void>;
  subscriberCount(topic: Topic, key: string): number;
}

/** Wraps `inner` with subscription counting. */
export function observePubSub(inner: PubSub): ObservedPubSub {
  const counts = new Map<string, number>();
  const bump = (channel: string, by: number) => counts.set(channel, (counts.get(channel) ?? 0) + by);
  return {
    publish: (topic, key, event) => inner.publish(topic, key, event),
    async subscribe<T extends Topic>(
      topic: T,
      keys: string | readonly string[],
      options?: SubscribeOptions,
    ): Promise<Subscription<Topics[T]>> {
      const channels = (typeof keys === 'string' ? [keys] : [...keys]).map((k) => `${topic}:${k}`);
      const subscription = await inner.subscribe(topic, keys, options);
      channels.forEach((c) => bump(c, 1));
      let released = false;
      const release = () => {
        if (!released) channels.forEach((c) => bump(c, -1));
        released = true;
      };
      const wrapped: Subscription<Topics[T]> = {
        next: async () => {
          try {
            const result = await subscription.next();
            if (result.done) release();
            return result;
          } catch (error) {
            release();
            throw error;
          }
        },
        return: async () => {
          release();
          return subscription.return();
        },
        [Symbol.asyncIterator]() {
          return wrapped;
        },
      };
      return wrapped;
    },
    close: () => inner.close(),
    reconnects: () => inner.reconnects(),
    subscriberCount: (topic, key) => counts.get(`${topic}:${key}`) ?? 0,
    async waitForSubscribers(topic, key, count = 1, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while ((counts.get(`${topic}:${key}`) ?? 0) < count) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} subscriber(s) on ${topic}:${key}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

/** A server started for one test file, with the backends it runs on. */
export interface TestServer extends RunningServer {
  store: Store;
  pubsub: ObservedPubSub;
}

/** Starts a server on a free port with in-memory backends (or the given ones). */
export async function startTestServer(
  options: Partial<ServerOptions> & { env?: Record<string, string> } = {},
): Promise<TestServer> {
  const store = options.store ?? createMemoryStore();
  const pubsub = observePubSub(options.pubsub ?? createMemoryPubSub());
  const server = await startServer({ ...options, config: options.config ?? testConfig(options.env), store, pubsub });
  return {
    ...server,
    store,
    pubsub,
    stop: async () => {
      await server.stop();
      await pubsub.close();
      await store.close();
    },
  };
}

/**
 * Starts a server before the file's tests and stops it after them. The
 * returned object is filled in by beforeAll.
 */
export function useTestServer(options: Parameters<typeof startTestServer>[0] = {}): TestServer {
  const holder = {} as TestServer;
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(options);
    Object.assign(holder, server);
  });
  afterAll(async () => {
    await server?.stop();
  });
  return holder;
}

/** One parsed JSON log line. */
export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** A logger at debug that keeps every line, parsed, and the raw text of all of them (to search for secrets). */
export function captureLog(): { log: Logger; lines: LogLine[]; text: () => string } {
  const raw: string[] = [];
  const lines: LogLine[] = [];
  const log = createLogger('debug', {
    write: (line) => {
      raw.push(line);
      lines.push(JSON.parse(line) as LogLine);
    },
  });
  return { log, lines, text: () => raw.join('') };
}
