// Redis Cluster scaling bench: the fan-out scenario (bench/fanout.mjs) on a local Redis Cluster of 1, 2
// and 3 masters (and on one plain Redis for comparison), with two server processes on a private FerretDB,
// reporting the Redis CPU per 1,000 deliveries in all and per master, beside the servers' own CPU.
// One 2-core machine cannot show the throughput gain of more masters; what it can show is what one
// delivery costs a master, and that the cost is divided among the masters, which is what sizing needs.
//
//   node bench/scaling.mjs [--members 100] [--senders 10] [--seconds 5] [--masters 1,2,3]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const flags = process.argv.slice(2);
const option = (name, fallback) => {
  const i = flags.indexOf(`--${name}`);
  return i >= 0 ? flags[i + 1] : fallback;
};
const MASTERS = option('masters', '1,2,3').split(',').map(Number);
const passOn = ['members', 'senders', 'seconds'].flatMap((name) => {
  const value = option(name);
  return value === undefined ? [] : [`--${name}`, value];
});
const say = (line) => process.stderr.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

async function redisServer(args) {
  const child = spawn('redis-server', [...args, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  children.push(child);
  const port = Number(args[args.indexOf('--port') + 1]);
  for (let i = 0; i < 100; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.includes('PONG')) break;
    await sleep(50);
  }
  return { child, port };
}

/** A Redis Cluster of `n` masters, no replicas. */
async function startCluster(n) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
  const ports = new Set();
  while (ports.size < 2 * n) ports.add(await freePort());
  const [clientPorts, busPorts] = [[...ports].slice(0, n), [...ports].slice(n)];
  const masters = [];
  for (let i = 0; i < n; i++) {
    masters.push(
      await redisServer([
        '--port',
        String(clientPorts[i]),
        '--cluster-port',
        String(busPorts[i]),
        // A lone master knows no address of its own to announce until another meets it.
        '--cluster-announce-ip',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${clientPorts[i]}.conf`),
        '--dir',
        dir,
      ]),
    );
  }
  const addresses = clientPorts.map((p) => `127.0.0.1:${p}`);
  // By hand rather than redis-cli --cluster create, which wants at least three masters: each master takes an
  // equal range of the 16384 slots, then they meet.
  const cli = (port, ...args) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout;
  clientPorts.forEach((port, i) => {
    const from = Math.floor((16384 * i) / n);
    const to = Math.floor((16384 * (i + 1)) / n) - 1;
    cli(port, 'cluster', 'addslotsrange', String(from), String(to));
  });
  for (const port of clientPorts.slice(1))
    cli(port, 'cluster', 'meet', '127.0.0.1', String(clientPorts[0]), String(busPorts[0]));
  for (let i = 0; i < 200; i++) {
    const infos = clientPorts.map(
      (p) => spawnSync('redis-cli', ['-p', String(p), 'cluster', 'info'], { encoding: 'utf8' }).stdout,
    );
    if (infos.every((s) => s.includes('cluster_state:ok'))) break;
    await sleep(100);
  }
  return {
    env: { REDIS_CLUSTER_NODES: addresses.join(',') },
    pids: masters.map((m) => m.child.pid),
    stop() {
      masters.forEach((m) => m.child.kill('SIGKILL'));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startSingle() {
  const port = await freePort();
  const redis = await redisServer(['--port', String(port)]);
  return {
    env: { REDIS_URL: `redis://127.0.0.1:${port}` },
    pids: [redis.child.pid],
    stop: () => redis.child.kill('SIGKILL'),
  };
}

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

console.log('\nfan-out on Redis: 2 server processes on FerretDB, peak (closed loop)');
console.log(
  'Redis | sends over | deliveries/s | server CPU ms / 1k deliveries | Redis CPU ms / 1k deliveries (all masters) | per master | lost',
);
for (const r of rows) {
  console.log(
    `${r.setup} | ${r.sends} | ${r.deliveriesPerSec} | ${r.cpuMsPer1k} | ${r.redisCpuMsPer1k} | ${(r.redisCpuMsPer1k / r.masters).toFixed(2)} | ${r.lost}`,
  );
}
console.log(`\n${JSON.stringify(rows)}`);
process.exit(0);
