import { Redis } from 'ioredis';
import type { RedisClient } from '../../src/lib/redis';
import type { PresenceRecord } from '../../src/presence/presence';
import { createRedisPresence, type RedisPresenceOptions } from '../../src/presence/redis';
import { backendsAvailable } from '../helpers/backends';
import { partitionRedis, type RedisPartition } from '../helpers/partition';
import { TEST_REDIS, useTestRedis } from '../helpers/redis';

const run = backendsAvailable('the Redis presence tracker suite');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, ready: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await ready()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** What one tracker reported, and which. */
type Report = PresenceRecord & { by: string };

(run ? describe : describe.skip)('Redis presence tracker (TEST_REDIS: one Redis, or a Redis Cluster)', () => {
  const redis = useTestRedis();
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  let deployments = 0;

  /** Trackers sharing one key prefix, as the processes of one deployment do, and what they all reported. */
  function deployment(shared: Partial<RedisPresenceOptions> = {}) {
    const keyPrefix = `test:${process.pid}:${deployments++}:`;
    const reports: Report[] = [];
    return {
      keyPrefix,
      reports,
      /** A process's tracker, named `by` in the reports, on its own connection (or `client`'s). */
      async open(by: string, options: Partial<RedisPresenceOptions> & { client?: RedisClient } = {}) {
        const client = options.client ?? (await redis.current.connect(`presence-${by}`));
        const tracker = createRedisPresence(client, {
          timeoutMs: 1500,
          graceMs: 0,
          keyPrefix,
          onChange: (record) => reports.push({ ...record, by }),
          ...shared,
          ...options,
        });
        let closed = false;
        const close = async () => {
          if (closed) return;
          closed = true;
          await tracker.close();
          client.disconnect();
        };
        cleanups.push(close);
        return { tracker, close };
      },
      /** [by, user, status] of each report, in order. */
      said: () => reports.map((r) => [r.by, r.userId, r.status]),
    };
  }

  async function statusOf(tracker: { get(ids: string[]): Promise<PresenceRecord[]> }, userId: string) {
    return (await tracker.get([userId]))[0]!.status;
  }

  /** Commands every node has run so far (INFO commandstats). */
  async function commandsRun(): Promise<number> {
    let total = 0;
    for (const node of redis.current.nodes) {
      const client = new Redis(node.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      const info = await client.info('commandstats');
      client.disconnect();
      for (const match of info.matchAll(/calls=(\d+)/g)) total += Number(match[1]);
    }
    return total;
  }

  async function partition(): Promise<RedisPartition> {
    const relays = await partitionRedis(redis.current);
    cleanups.push(() => relays.dispose());
    return relays;
  }

  it('renews one entry per process, however many users it holds', async () => {
    const d = deployment();
    const a = await d.open('a');
    const users = Array.from({ length: 300 }, (_, i) => `user${i}`);
    await Promise.all(users.map((u) => a.tracker.connected(u)));
    await waitFor('300 ONLINE', () => d.reports.length === 300);
    const before = await commandsRun();
    // Four renewals and eight sweeps of an idle deployment.
    await sleep(2000);
    const during = (await commandsRun()) - before;
    // Per-user renewal would be 300 users x 2 commands x 4 renewals = 2,400.
    expect(during).toBeLessThan(150);
    expect((await a.tracker.get(users)).every((r) => r.status === 'ONLINE')).toBe(true);
  });

  it("a dead process's users are announced OFFLINE exactly once among the sweepers, in batches of any size", async () => {
    const cases = [0, 1, 6, 7, 8, 14, 15].map((n) => ({ n, buckets: 1 })).concat([{ n: 60, buckets: 16 }]);
    // Each case is a deployment of its own (its own keys): all run at once.
    const sweepCase = async ({ n, buckets }: { n: number; buckets: number }) => {
      const d = deployment({ buckets, sweepBatch: 7 });
      const [a, b, dead] = [await d.open('a'), await d.open('b'), await d.open('dead')];
      const users = Array.from({ length: n }, (_, i) => `u${i}`);
      // Every third user also has a device on a live process: they stay ONLINE.
      const alsoOnA = users.filter((_, i) => i % 3 === 0);
      await Promise.all([
        ...users.map((u) => dead.tracker.connected(u)),
        ...alsoOnA.map((u) => a.tracker.connected(u)),
      ]);
      await dead.close(); // it stops renewing; its devices stay, as when a process is killed
      const expected = users.filter((u) => !alsoOnA.includes(u)).sort();
      const offline = () => d.reports.filter((r) => r.status === 'OFFLINE');
      const admin = await redis.current.connect('admin');
      const alive = () => admin.zcard(`${d.keyPrefix}{presence}:alive`);
      await waitFor(
        `${expected.length} OFFLINE (n = ${n})`,
        async () => offline().length >= expected.length && (await alive()) === 2,
      );
      await sleep(600); // more sweeps, by both: nothing more is announced
      expect({
        n,
        offline: offline()
          .map((r) => r.userId)
          .sort(),
      }).toEqual({ n, offline: expected });
      expect(offline().every((r) => r.by === 'a' || r.by === 'b')).toBe(true);
      const seen = await b.tracker.get(users);
      expect(seen.filter((r) => r.status === 'ONLINE').map((r) => r.userId)).toEqual(alsoOnA);
      // Nothing of the dead process is left: each device left is a's.
      const devices = await redis.current.keys(`${d.keyPrefix}*devices:*`);
      expect(devices).toHaveLength(alsoOnA.length);
      for (const key of devices) expect(await admin.hlen(key)).toBe(1);
      admin.disconnect();
      await Promise.all([a.close(), b.close()]);
    };
    await Promise.all(cases.map(sweepCase));
  }, 60_000);

  it('a process cut off from Redis past the timeout has its users announced OFFLINE, then ONLINE again when it is back', async () => {
    const d = deployment();
    const relays = await partition();
    const a = await d.open('a', { client: await relays.connect('presence-a') });
    const b = await d.open('b');
    await a.tracker.connected('alice');
    await waitFor('ONLINE', () => d.reports.length === 1);
    await relays.cut();
    await waitFor('OFFLINE', () => d.reports.length === 2);
    expect(await statusOf(b.tracker, 'alice')).toBe('OFFLINE');
    await relays.heal();
    await waitFor('ONLINE again', () => d.reports.length === 3);
    expect(d.said()).toEqual([
      ['a', 'alice', 'ONLINE'],
      ['b', 'alice', 'OFFLINE'],
      ['a', 'alice', 'ONLINE'],
    ]);
    expect(await statusOf(b.tracker, 'alice')).toBe('ONLINE');
    // Her device under the process's new id is the one that counts now.
    await a.tracker.disconnected('alice');
    await waitFor('OFFLINE at the end', () => d.reports.length === 4);
    expect(d.reports[3]).toMatchObject({ by: 'a', status: 'OFFLINE' });
    expect(await redis.current.keys(`${d.keyPrefix}*devices:*`)).toEqual([]);
    await sleep(500);
    expect(d.reports).toHaveLength(4);
  }, 30_000);

  it('a device that comes or goes while its process is cut off from Redis is announced once Redis is reachable', async () => {
    const d = deployment({ timeoutMs: 4000 });
    const relays = await partition();
    const a = await d.open('a', { client: await relays.connect('presence-a') });
    const b = await d.open('b');
    await Promise.all([a.tracker.connected('alice'), a.tracker.connected('carol')]);
    await waitFor('both ONLINE', () => d.reports.length === 2);
    await relays.cut();
    await a.tracker.disconnected('alice');
    await a.tracker.connected('bob');
    await sleep(300);
    expect(d.reports).toHaveLength(2);
    await relays.heal();
    await waitFor('alice OFFLINE and bob ONLINE', () => d.reports.length === 4);
    expect(d.said().slice(2).sort()).toEqual([
      ['a', 'alice', 'OFFLINE'],
      ['a', 'bob', 'ONLINE'],
    ]);
    const seen = await b.tracker.get(['alice', 'bob', 'carol']);
    expect(seen.map((r) => r.status)).toEqual(['OFFLINE', 'ONLINE', 'ONLINE']);
    await sleep(500);
    expect(d.reports).toHaveLength(4);
  }, 30_000);

  it('after Redis lost everything (a restart), every connected user is ONLINE again and announced so', async () => {
    const d = deployment();
    const a = await d.open('a');
    const b = await d.open('b');
    await a.tracker.connected('alice');
    await waitFor('ONLINE', () => d.reports.length === 1);
    await redis.current.stop();
    await redis.current.start();
    await waitFor('ONLINE again', async () => (await statusOf(b.tracker, 'alice').catch(() => null)) === 'ONLINE');
    await waitFor('announced again', () => d.reports.length === 2);
    expect(d.said()).toEqual([
      ['a', 'alice', 'ONLINE'],
      ['a', 'alice', 'ONLINE'],
    ]);
  }, 60_000);

  // On one Redis there is nothing to spread over.
  (TEST_REDIS === 'cluster' ? it : it.skip)("spreads users' presence over the cluster's masters", async () => {
    const d = deployment();
    const a = await d.open('a');
    const users = Array.from({ length: 64 }, (_, i) => `spread${i}`);
    await Promise.all(users.map((u) => a.tracker.connected(u)));
    const perNode = await Promise.all(
      redis.current.nodes.map(async (node) => {
        const client = new Redis(node.port, '127.0.0.1');
        const keys = await client.keys(`${d.keyPrefix}*devices:*`);
        client.disconnect();
        return keys.length;
      }),
    );
    expect(perNode.reduce((x, y) => x + y, 0)).toBe(64);
    expect(perNode.every((count) => count > 0)).toBe(true);
  });
});
