// Presence on Redis: what each part of the tracker (dist/presence/redis.js) costs Redis, on one redis-server
// and on a 3-master Redis Cluster. One process's tracker connects --users users (a device each), holds them
// idle for --idle seconds at the production timeout (one renewal per 10 s), then disconnects them; then a
// second pair of trackers shows the sweep: one holds the users and stops renewing, as a killed process does,
// and the other announces them OFFLINE. Beside it, what a status change costs to fan out: one publish on
// 100 friend-pair channels through the project's pub/sub, as presence/events.ts does. Redis CPU from /proc
// (schedstat, all threads of every master); Redis memory from INFO.
//
//   npm run build && node bench/presence.mjs [--users 50000] [--idle 20] [--modes single,cluster]
//   node bench/presence.mjs --module /path/to/other/dist/presence/redis.js --no-sweep   (another build)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startCluster, startSingle, usedMemory } from './redis.mjs';
import { cpuMs } from './server.mjs';

const flags = process.argv.slice(2);
const option = (name, fallback) => {
  const i = flags.indexOf(`--${name}`);
  return i >= 0 ? flags[i + 1] : fallback;
};
const USERS = Number(option('users', 50_000));
const IDLE_SECONDS = Number(option('idle', 20));
const MODES = option('modes', 'single,cluster').split(',');
const SWEEP = !flags.includes('--no-sweep');
const modulePath = resolve(option('module', new URL('../dist/presence/redis.js', import.meta.url).pathname));
const { createRedisPresence } = await import(pathToFileURL(modulePath).href);
const { connectRedis, connectRedisCluster } = await import('../dist/lib/redis.js');
const { createRedisPubSub } = await import('../dist/pubsub/redis.js');
const FRIENDS = 100;
const CHANGES = 2000;
const say = (line) => process.stderr.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const users = Array.from({ length: USERS }, (_, i) => `${1_000_000_000_000 + i}`);

async function inBatches(list, each) {
  for (let i = 0; i < list.length; i += 1000) await Promise.all(list.slice(i, i + 1000).map(each));
}
async function until(what, ready, timeoutMs = 120_000) {
  for (const deadline = Date.now() + timeoutMs; !ready(); await sleep(20)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

const rows = [];
for (const mode of MODES) {
  const redis = mode === 'cluster' ? await startCluster(3) : await startSingle();
  const connect = (role) =>
    mode === 'cluster'
      ? connectRedisCluster({ nodes: redis.ports.map((port) => ({ host: '127.0.0.1', port })) }, role)
      : connectRedis(redis.env.REDIS_URL, role);
  const counts = { ONLINE: 0, OFFLINE: 0 };
  const tracker = async (role, timeoutMs) => {
    const client = await connect(role);
    const presence = createRedisPresence(client, {
      timeoutMs,
      graceMs: 0,
      onChange: (r) => counts[r.status]++,
    });
    return { presence, client };
  };
  /** Redis CPU ms that `work` costs, and how long it takes. */
  const cost = async (work) => {
    const [c0, t0] = [cpuMs(redis.pids), now()];
    await work();
    return { redisMs: cpuMs(redis.pids) - c0, seconds: (now() - t0) / 1000 };
  };
  try {
    say(`${mode}: ${USERS} users`);
    const a = await tracker('a', 30_000);
    const memory0 = usedMemory(redis);
    const connects = await cost(async () => {
      await inBatches(users, (u) => a.presence.connected(u));
      await until('ONLINE', () => counts.ONLINE === USERS);
    });
    const bytesPerUser = (usedMemory(redis) - memory0) / USERS;
    const idle = await cost(() => sleep(IDLE_SECONDS * 1000));
    const disconnects = await cost(async () => {
      users.forEach((u) => a.presence.disconnected(u));
      await until('OFFLINE', () => counts.OFFLINE === USERS);
    });
    // What stays of a user who went away: their last-active time.
    const bytesPerUserAfter = (usedMemory(redis) - memory0) / USERS;
    await a.presence.close();
    a.client.disconnect();

    // The sweep of a process that stopped renewing (timeout 3 s, so that it comes soon).
    let sweep = { redisMs: NaN, seconds: NaN };
    if (SWEEP) {
      const [sweeper, dead] = [await tracker('sweeper', 3000), await tracker('dead', 3000)];
      counts.OFFLINE = 0;
      await inBatches(users, (u) => dead.presence.connected(u));
      await dead.presence.close();
      dead.client.disconnect();
      sweep = await cost(() => until('swept OFFLINE', () => counts.OFFLINE === USERS));
      await sweeper.presence.close();
      sweeper.client.disconnect();
    }

    // Fan-out of status changes: each to FRIENDS pair channels nobody on this process listens to.
    const [publisher, subscriber] = [await connect('publisher'), await connect('subscriber')];
    const pubsub = createRedisPubSub({ publisher, subscriber, sharded: mode === 'cluster' });
    const event = { userId: users[0], status: 'ONLINE', lastActiveAt: new Date().toISOString() };
    const fanout = await cost(async () => {
      for (let i = 0; i < CHANGES; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, (_, j) =>
            pubsub.publish(
              'presenceChanged',
              Array.from({ length: FRIENDS }, (_, f) => `${users[(i + j) % USERS]}:${users[(i + j + f + 1) % USERS]}`),
              event,
            ),
          ),
        );
      }
    });
    await pubsub.close();
    publisher.disconnect();
    subscriber.disconnect();

    rows.push({
      mode,
      users: USERS,
      bytesPerUser: Math.round(bytesPerUser),
      bytesPerUserAfter: Math.round(bytesPerUserAfter),
      fanoutUsPerChannel: Number(((fanout.redisMs / (CHANGES * FRIENDS)) * 1000).toFixed(3)),
      connectUs: Number(((connects.redisMs / USERS) * 1000).toFixed(2)),
      disconnectUs: Number(((disconnects.redisMs / USERS) * 1000).toFixed(2)),
      idleMsPerSec: Number((idle.redisMs / idle.seconds).toFixed(3)),
      sweepUsPerUser: Number(((sweep.redisMs / USERS) * 1000).toFixed(2)),
      sweepSeconds: Number(sweep.seconds.toFixed(1)),
    });
  } finally {
    redis.stop();
  }
}

console.log(`\npresence on Redis (${modulePath}): ${USERS} users, one device each`);
console.log(
  'Redis | per connect (µs) | per disconnect (µs) | memory per user, connected / gone (bytes) | idle, all users connected (Redis ms/s) | sweep of a dead process (µs per user; s from its end until all are OFFLINE) | fan-out of a change (µs per friend channel)',
);
for (const r of rows) {
  console.log(
    `${r.mode} | ${r.connectUs} | ${r.disconnectUs} | ${r.bytesPerUser} / ${r.bytesPerUserAfter} | ${r.idleMsPerSec} | ${r.sweepUsPerUser} (${r.sweepSeconds} s) | ${r.fanoutUsPerChannel}`,
  );
}
console.log(`\n${JSON.stringify(rows)}`);
process.exit(0);
