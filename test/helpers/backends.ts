import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';

/** Where .ci/run (scripts/install-ferretdb.sh) puts FerretDB; FERRETDB_BIN overrides. */
export const FERRETDB_BIN = process.env.FERRETDB_BIN ?? join(__dirname, '..', '..', '.tools', 'bin', 'ferretdb');

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

/**
 * Whether the suites that need real Redis and a MongoDB-compatible server can
 * run here. In CI they must: a missing binary fails the run instead of
 * skipping it. Elsewhere the suites are skipped with a loud message.
 */
export function backendsAvailable(what: string): boolean {
  const missing = [
    ...(onPath('redis-server') ? [] : ['redis-server (apt-get install redis-server)']),
    ...(existsSync(FERRETDB_BIN) ? [] : [`FerretDB at ${FERRETDB_BIN} (bash scripts/install-ferretdb.sh)`]),
  ];
  if (missing.length === 0) return true;
  const message = `SKIPPED: ${what} needs ${missing.join(' and ')}; .ci/run installs both.`;
  if (process.env.CI) throw new Error(`${message} In CI these suites must run.`);
  // eslint-disable-next-line no-console
  console.warn(`\n${'!'.repeat(message.length)}\n${message}\n${'!'.repeat(message.length)}\n`);
  return false;
}

/** Whether `port` can be bound on 127.0.0.1 right now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Ports for the backends a test file starts: each jest worker has a range of its own, below the kernel's
 * ephemeral ports (32768 and up here), handed out in turn. A port the kernel picked for
 * `listen(0)` and released could be picked again at once by another worker, before the backend meant to
 * have it had bound it (seen: FerretDB failing with "address already in use" with two workers). Each
 * worker starts at a random place in its range, so that two test runs at once seldom meet either.
 */
const PORTS_PER_WORKER = 1500;
const firstPort = 20_000 + ((Number(process.env.JEST_WORKER_ID ?? 1) - 1) % 8) * PORTS_PER_WORKER;
let nextPort = firstPort + Math.floor(Math.random() * PORTS_PER_WORKER);

/** A TCP port that is free, and that no other worker of this run is handed (nor this one, until its range wraps). */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < PORTS_PER_WORKER; tries++) {
    const port = nextPort;
    nextPort = nextPort + 1 < firstPort + PORTS_PER_WORKER ? nextPort + 1 : firstPort;
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port in ${firstPort}-${firstPort + PORTS_PER_WORKER - 1}`);
}

async function waitForPort(port: number, timeoutMs: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before listening:\n${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`not listening on ${port} after ${timeoutMs}ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A backend server process this test run started, on its own port. */
export interface BackendProcess {
  /** Connection string for clients. */
  url: string;
  port: number;
  /** Starts it again after `stop`, on the same port (and, for FerretDB, the same data). */
  start(): Promise<void>;
  /** Stops it (SIGTERM, then SIGKILL); data kept where the server keeps any. */
  stop(): Promise<void>;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open and nothing answers, as with a hung server. */
  freeze(): void;
  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void;
}

/** A server process that `launch` starts, stopped, frozen and restarted on demand; `cleanup` removes its data. */
export function managed(port: number, url: string, launch: () => ChildProcess, cleanup: () => void): BackendProcess {
  let child: ChildProcess | null = null;
  let output = '';
  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill('SIGCONT');
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return {
    url,
    port,
    async start() {
      if (child) return;
      output = '';
      child = launch();
      // Should this test process exit without stopping it, take it along instead of leaving an orphan.
      const launched = child;
      const orphanGuard = () => launched.kill('SIGKILL');
      process.once('exit', orphanGuard);
      launched.once('exit', () => process.off('exit', orphanGuard));
      child.stdout?.on('data', (d) => (output += d));
      child.stderr?.on('data', (d) => (output += d));
      const current = child;
      await waitForPort(port, 20_000, current, () => output);
    },
    stop,
    freeze: () => void child?.kill('SIGSTOP'),
    thaw: () => void child?.kill('SIGCONT'),
    async dispose() {
      await stop();
      cleanup();
    },
  };
}

/** A private redis-server on a free port, keeping nothing on disk. */
export async function startRedis(): Promise<BackendProcess> {
  const port = await freePort();
  const backend = managed(
    port,
    `redis://127.0.0.1:${port}`,
    () =>
      spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    () => {},
  );
  await backend.start();
  return backend;
}

/** A private FerretDB on SQLite in a temporary directory, on a free port. */
export async function startFerretDB(): Promise<BackendProcess> {
  const [port, debugPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'ferretdb-'));
  const backend = managed(
    port,
    `mongodb://127.0.0.1:${port}/`,
    () =>
      spawn(
        FERRETDB_BIN,
        [
          `--listen-addr=127.0.0.1:${port}`,
          `--debug-addr=127.0.0.1:${debugPort}`,
          '--handler=sqlite',
          `--sqlite-url=file:${dir}/`,
          `--state-dir=${dir}`,
          '--telemetry=disable',
          '--log-level=ERROR',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    () => rmSync(dir, { recursive: true, force: true }),
  );
  await backend.start();
  return backend;
}

/** Something started before a file's tests and disposed of after them; `current` is set by beforeAll. */
export interface Fixture<T> {
  current: T;
}

/** Starts `start()` before the file's tests and disposes of it after them. */
export function useFixture<T extends { dispose(): Promise<void> }>(start: () => Promise<T>): Fixture<T> {
  const holder = {} as Fixture<T>;
  beforeAll(async () => {
    holder.current = await start();
  }, 60_000);
  afterAll(async () => {
    await holder.current?.dispose();
  });
  return holder;
}

/** A private redis-server for the file's tests (see `startRedis`). */
export function useRedis(): Fixture<BackendProcess> {
  return useFixture(startRedis);
}

/** A private FerretDB for the file's tests (see `startFerretDB`). */
export function useFerretDB(): Fixture<BackendProcess> {
  return useFixture(startFerretDB);
}

/** A private FerretDB and one client of it, for the file's tests; the client closes before FerretDB stops. */
export function useFerretDBClient(): Fixture<{ url: string; client: MongoClient; dispose(): Promise<void> }> {
  return useFixture(async () => {
    const ferret = await startFerretDB();
    const client = await new MongoClient(ferret.url).connect();
    return {
      url: ferret.url,
      client,
      async dispose() {
        await client.close();
        await ferret.dispose();
      },
    };
  });
}
