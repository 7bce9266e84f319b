import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { connectRedis } from '../src/lib/redis';
import { leaseWorkerId } from '../src/cluster/workerLease';
import { backendsAvailable, useRedis } from './helpers/backends';

const run = backendsAvailable('the worker id lease suite');

(run ? describe : describe.skip)('worker id leases in Redis', () => {
  const redis = useRedis();
  let client: Redis;
  beforeAll(async () => {
    client = await connectRedis(redis.current.url, 'test');
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
    expect(await client.keys(`${keyPrefix}*`)).toEqual([]);
  });

  it('keeps an id past its TTL while renewing, and frees it once renewals stop', async () => {
    const keyPrefix = prefix();
    const other = await connectRedis(redis.current.url, 'dies');
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
