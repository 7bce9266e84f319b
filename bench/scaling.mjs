// Redis Cluster scaling bench: the fan-out scenario (bench/fanout.mjs) on a local Redis Cluster of 1, 2
// and 3 masters (and on one plain Redis for comparison), with two server processes on a private FerretDB,
// reporting the Redis CPU per 1,000 deliveries in all and per master, beside the servers' own CPU. "Of it,
// the deliveries": what Redis spent beyond what it spends with nobody sending (measured just before), so
// that the fixed work (presence, leases, discovery, gossip) is not charged to the few deliveries FerretDB
// lets through.
// One 2-core machine cannot show the throughput gain of more masters; what it can show is what one
// delivery costs a master, and that the cost is divided among the masters, which is what sizing needs.
//
//   node bench/scaling.mjs [--members 100] [--senders 10] [--seconds 5] [--masters 1,2,3] [--processes 2]
//
// --processes 1 runs one server process on the memory store instead, so that FerretDB does not bound the
// rate: Redis then works at the batching it has under load, which is what per-delivery costs at scale are.
import { spawnSync } from 'node:child_process';
import { startCluster, startSingle } from './redis.mjs';

const flags = process.argv.slice(2);
const option = (name, fallback) => {
  const i = flags.indexOf(`--${name}`);
  return i >= 0 ? flags[i + 1] : fallback;
};
const MASTERS = option('masters', '1,2,3').split(',').map(Number);
const passOn = ['members', 'senders', 'seconds', 'processes'].flatMap((name) => {
  const value = option(name);
  return value === undefined ? [] : [`--${name}`, value];
});
const say = (line) => process.stderr.write(`${line}\n`);

/** bench/fanout.mjs (project only, no idle phase) against `redis`; its peak figures over HTTP and over ws. */
function fanout(redis) {
  const script = new URL('./fanout.mjs', import.meta.url).pathname;
  const run = spawnSync(process.execPath, [script, '--no-peers', '--idle', '0', ...passOn], {
    env: { ...process.env, ...redis.env, BENCH_REDIS_PIDS: redis.pids.join(',') },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`fanout failed:\n${run.stderr}`);
  const json = run.stdout.trim().split('\n').at(-1);
  return JSON.parse(json);
}

const rows = [];
for (const setup of [
  { name: 'one Redis (REDIS_URL)', start: startSingle, masters: 1 },
  ...MASTERS.map((n) => ({
    name: `Redis Cluster, ${n} master${n > 1 ? 's' : ''}`,
    start: () => startCluster(n),
    masters: n,
  })),
]) {
  say(`${setup.name}: starting`);
  const redis = await setup.start();
  try {
    for (const result of fanout(redis)) {
      rows.push({
        setup: setup.name,
        masters: setup.masters,
        sends: result.target.includes('graphql-ws') ? 'ws' : 'HTTP',
        ...result.peak,
      });
    }
  } finally {
    redis.stop();
  }
}

const processes = Number(option('processes', 2));
console.log(
  `\nfan-out on Redis: ${processes === 1 ? 'one server process on the memory store' : `${processes} server processes on FerretDB`}, peak (closed loop)`,
);
console.log(
  'Redis | sends over | deliveries/s | server CPU ms / 1k deliveries | Redis CPU ms / 1k deliveries, all masters (of it, the deliveries) | the deliveries, per master | lost',
);
for (const r of rows) {
  console.log(
    `${r.setup} | ${r.sends} | ${r.deliveriesPerSec} | ${r.cpuMsPer1k} | ${r.redisCpuMsPer1k} (${r.redisMarginalMsPer1k}) | ${(r.redisMarginalMsPer1k / r.masters).toFixed(2)} | ${r.lost}`,
  );
}
console.log(`\n${JSON.stringify(rows)}`);
process.exit(0);
