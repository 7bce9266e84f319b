import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, managed, useFixture, type BackendProcess, type Fixture } from './backends';

/** A local Redis Cluster of three masters and no replicas, each its own redis-server process. */
export interface RedisClusterFixture {
  /** Every master, in the order they were created. */
  masters: BackendProcess[];
  /** `host:port,host:port,...`, as REDIS_CLUSTER_NODES takes it. */
  nodesVariable: string;
  /** The masters as ioredis' Cluster takes them. */
  nodes: { host: string; port: number }[];
  /** Resolves once every master reports the cluster state ok (after a master restarted, say). */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  dispose(): Promise<void>;
}

function cli(port: number, ...args: string[]): string {
  const result = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8' });
  return `${result.stdout}${result.stderr}`;
}

/**
 * Starts three cluster-enabled redis-servers on free ports (their bus ports
 * chosen free too), joins them with `redis-cli --cluster create`, and waits
 * for the state to be ok. Each keeps its nodes.conf in a temporary directory,
 * so that a stopped master restarted comes back with its slots.
 */
export async function startRedisCluster(masterCount = 3): Promise<RedisClusterFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
  const masters: BackendProcess[] = [];
  // Every client and bus port chosen before any server starts, all distinct (a port just freed may come back).
  const ports = new Set<number>();
  while (ports.size < masterCount * 2) ports.add(await freePort());
  const [clientPorts, busPorts] = [[...ports].slice(0, masterCount), [...ports].slice(masterCount)];
  for (let i = 0; i < masterCount; i++) {
    const [port, busPort] = [clientPorts[i]!, busPorts[i]!];
    masters.push(
      managed(
        port,
        `redis://127.0.0.1:${port}`,
        () =>
          spawn(
            'redis-server',
            [
              '--port',
              String(port),
              '--cluster-port',
              String(busPort),
              '--bind',
              '127.0.0.1',
              '--cluster-announce-ip',
              '127.0.0.1',
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              join(dir, `nodes-${port}.conf`),
              '--cluster-node-timeout',
              '2000',
              '--dir',
              dir,
              '--save',
              '',
              '--appendonly',
              'no',
            ],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          ),
        () => {},
      ),
    );
  }
  await Promise.all(masters.map((m) => m.start()));
  const addresses = masters.map((m) => `127.0.0.1:${m.port}`);
  const created = spawnSync(
    'redis-cli',
    ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
    {
      encoding: 'utf8',
    },
  );
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.stdout}${created.stderr}`);

  const waitUntilHealthy = async (timeoutMs = 20_000) => {
    for (const deadline = Date.now() + timeoutMs; ; ) {
      const states = masters.map((m) => cli(m.port, 'cluster', 'info'));
      if (states.every((s) => s.includes('cluster_state:ok') && s.includes('cluster_slots_ok:16384'))) return;
      if (Date.now() > deadline)
        throw new Error(`Redis Cluster not healthy after ${timeoutMs}ms:\n${states.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await waitUntilHealthy();
  return {
    masters,
    nodesVariable: addresses.join(','),
    nodes: masters.map((m) => ({ host: '127.0.0.1', port: m.port })),
    waitUntilHealthy,
    async dispose() {
      await Promise.all(masters.map((m) => m.dispose()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A local Redis Cluster for the file's tests (see `startRedisCluster`). */
export function useRedisCluster(): Fixture<RedisClusterFixture> {
  return useFixture(() => startRedisCluster());
}

/** `PUBSUB SHARDNUMSUB` of each channel on one node: how many subscribers that node has for each. */
export function shardSubscribers(port: number, channels: string[]): Map<string, number> {
  const lines = cli(port, 'pubsub', 'shardnumsub', ...channels)
    .trim()
    .split('\n');
  const counts = new Map<string, number>();
  for (let i = 0; i + 1 < lines.length; i += 2) counts.set(lines[i]!, Number(lines[i + 1]));
  return counts;
}

/**
 * Moves `slot` to the master on `toPort`, as a resharding does (CLUSTER SETSLOT on every master; the slot
 * must hold no keys). Subscribers of its shard channels on the old master are unsubscribed by Redis.
 */
export function moveSlot(masters: BackendProcess[], slot: number, toPort: number): void {
  const idOf = (port: number) => cli(port, 'cluster', 'myid').trim();
  const from = masters.find((m) =>
    cli(m.port, 'cluster', 'nodes')
      .split('\n')
      .some((line) => line.includes('myself') && ownsSlot(line, slot)),
  );
  if (!from) throw new Error(`no master owns slot ${slot}`);
  if (from.port === toPort) return;
  cli(toPort, 'cluster', 'setslot', String(slot), 'importing', idOf(from.port));
  cli(from.port, 'cluster', 'setslot', String(slot), 'migrating', idOf(toPort));
  for (const m of masters) cli(m.port, 'cluster', 'setslot', String(slot), 'node', idOf(toPort));
}

/** Whether a CLUSTER NODES line lists `slot` among its ranges. */
function ownsSlot(line: string, slot: number): boolean {
  return line
    .split(' ')
    .slice(8)
    .some((range) => {
      const [from, to = from] = range.split('-').map(Number);
      return slot >= from! && slot <= to!;
    });
}
