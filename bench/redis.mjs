// Private Redis servers for the benches: one redis-server, or a Redis Cluster of n masters, on free ports,
// keeping nothing on disk, killed when the bench exits.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
const cli = (port, ...args) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout;

async function redisServer(args) {
  const child = spawn('redis-server', [...args, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  children.push(child);
  const port = Number(args[args.indexOf('--port') + 1]);
  for (let i = 0; i < 100 && !cli(port, 'ping').includes('PONG'); i++) await sleep(50);
  return { child, port };
}

/**
 * A Redis Cluster of `n` masters, no replicas: what a server process is given to use it (`env`), the
 * masters' ports and pids, and `stop()`.
 */
export async function startCluster(n) {
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
  // By hand rather than redis-cli --cluster create, which wants at least three masters: each master takes an
  // equal range of the 16384 slots, then they meet.
  clientPorts.forEach((port, i) => {
    const from = Math.floor((16384 * i) / n);
    const to = Math.floor((16384 * (i + 1)) / n) - 1;
    cli(port, 'cluster', 'addslotsrange', String(from), String(to));
  });
  for (const port of clientPorts.slice(1))
    cli(port, 'cluster', 'meet', '127.0.0.1', String(clientPorts[0]), String(busPorts[0]));
  for (let i = 0; i < 200; i++) {
    if (clientPorts.every((p) => cli(p, 'cluster', 'info').includes('cluster_state:ok'))) break;
    await sleep(100);
  }
  return {
    env: { REDIS_CLUSTER_NODES: clientPorts.map((p) => `127.0.0.1:${p}`).join(',') },
    ports: clientPorts,
    pids: masters.map((m) => m.child.pid),
    stop() {
      masters.forEach((m) => m.child.kill('SIGKILL'));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Bytes of data Redis holds (INFO memory used_memory), summed over `redis`'s nodes. */
export function usedMemory(redis) {
  return redis.ports.reduce((sum, port) => sum + Number(/used_memory:(\d+)/.exec(cli(port, 'info', 'memory'))[1]), 0);
}

/** One redis-server, seen as `startCluster` shows a cluster. */
export async function startSingle() {
  const port = await freePort();
  const redis = await redisServer(['--port', String(port)]);
  return {
    env: { REDIS_URL: `redis://127.0.0.1:${port}` },
    ports: [port],
    pids: [redis.child.pid],
    stop: () => redis.child.kill('SIGKILL'),
  };
}
