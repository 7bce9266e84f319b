import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../../src/lib/redis';
import { leaseWorkerId } from '../../src/cluster/workerLease/redis';
import { leaseWorkerIdFromMongo } from '../../src/cluster/workerLease/mongo';
import { backendsAvailable, useFerretDBClient } from '../helpers/backends';
import { startServerProcess } from '../helpers/process';
import { useTestRedis } from '../helpers/redis';

const run = backendsAvailable('the worker id lease suite');

(run ? describe : describe.skip)('worker id leases in Redis', () => {
  const redis = useTestRedis();
  let client: RedisClient;
  beforeAll(async () => {
    client = await redis.current.connect('test');
  });
  afterAll(() => {
    client?.disconnect();
  });
  const prefix = () => `test:${randomBytes(4).toString('hex')}:`;
  const never = () => {
    throw new Error('lease lost');
  };

  it('gives live processes distinct ids, and takes an id back on release', async () => {
    const keyPrefix = prefix();
    const leases = await Promise.all(
      Array.from({ length: 20 }, () => leaseWorkerId(client, { keyPrefix, onLost: never })),
    );
    expect(new Set(leases.map((l) => l.workerId)).size).toBe(20);
    expect(leases.every((l) => l.workerId >= 0 && l.workerId <= 1023)).toBe(true);
    await Promise.all(leases.map((l) => l.release()));
    expect(await redis.current.keys(`${keyPrefix}*`)).toEqual([]);
  });

  it('keeps an id past its TTL while renewing, and frees it once renewals stop', async () => {
    const keyPrefix = prefix();
    const other = await redis.current.connect('dies');
    const lease = await leaseWorkerId(other, { keyPrefix, ttlMs: 300, renewMs: 100, onLost: never });
    await new Promise((r) => setTimeout(r, 800));
    expect(await client.exists(`${keyPrefix}${lease.workerId}`)).toBe(1);
    other.disconnect(); // the process "dies": nobody renews
    await new Promise((r) => setTimeout(r, 600));
    expect(await client.exists(`${keyPrefix}${lease.workerId}`)).toBe(0);
    await lease.release();
  });

  it('refuses a 1,025th lease', async () => {
    const keyPrefix = prefix();
    const leases = [];
    for (let i = 0; i < 1024; i++) leases.push(await leaseWorkerId(client, { keyPrefix, onLost: never }));
    await expect(leaseWorkerId(client, { keyPrefix, onLost: never })).rejects.toThrow(/no free worker id/);
    await Promise.all(leases.map((l) => l.release()));
  });

  it('reports a lease that another process took over', async () => {
    const keyPrefix = prefix();
    let lost: number | null = null;
    const lease = await leaseWorkerId(client, { keyPrefix, ttlMs: 300, renewMs: 50, onLost: (id) => (lost = id) });
    await client.set(`${keyPrefix}${lease.workerId}`, 'someone else');
    await new Promise((r) => setTimeout(r, 200));
    expect(lost).toBe(lease.workerId);
    await lease.release();
    expect(await client.get(`${keyPrefix}${lease.workerId}`)).toBe('someone else');
  });
});

(run ? describe : describe.skip)('worker id leases in MongoDB (no Redis)', () => {
  const mongo = useFerretDBClient();
  const db = () => mongo.current.client.db(`leases_${randomBytes(4).toString('hex')}`);
  const never = () => {
    throw new Error('lease lost');
  };

  it('gives live processes distinct ids, also when they start together, and takes an id back on release', async () => {
    const d = db();
    const leases = await Promise.all(
      Array.from({ length: 20 }, () => leaseWorkerIdFromMongo(d, { onLost: never, startAt: 7 })),
    );
    expect(new Set(leases.map((l) => l.workerId)).size).toBe(20);
    await Promise.all(leases.map((l) => l.release()));
    expect(await d.collection('workerLeases').countDocuments()).toBe(0);
  });

  it('takes over an id whose holder stopped renewing, and that holder learns it lost it', async () => {
    const d = db();
    let lost: number | null = null;
    const stalled = await leaseWorkerIdFromMongo(d, {
      startAt: 3,
      ttlMs: 300,
      renewMs: 1500,
      onLost: (id) => (lost = id),
    });
    const held = await leaseWorkerIdFromMongo(d, { startAt: 3, onLost: never });
    expect(held.workerId).not.toBe(3); // still live: not taken
    await new Promise((r) => setTimeout(r, 400));
    const next = await leaseWorkerIdFromMongo(d, { startAt: 3, onLost: never });
    expect(next.workerId).toBe(3); // expired unrenewed: taken over
    await new Promise((r) => setTimeout(r, 1500));
    expect(lost).toBe(3);
    await Promise.all([stalled.release(), held.release(), next.release()]);
  }, 15_000);

  it('two server processes on one MongoDB without Redis lease distinct worker ids', async () => {
    const env = {
      MONGODB_URI: mongo.current.url,
      MONGODB_DB: `two_${randomBytes(4).toString('hex')}`,
      JWT_SECRET: 'lease-secret-lease-secret-lease-secret',
      LOG_LEVEL: 'info',
    };
    const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    try {
      const idOf = (output: string) => /worker id (\d+) \(leased from MongoDB\)/.exec(output)?.[1];
      const ids = [idOf(a.output()), idOf(b.output())];
      expect(ids.every((id) => id !== undefined)).toBe(true);
      expect(ids[0]).not.toBe(ids[1]);
    } finally {
      for (const p of [a, b]) p.child.kill('SIGTERM');
      await Promise.all([a.exited, b.exited]);
    }
  }, 60_000);
});
