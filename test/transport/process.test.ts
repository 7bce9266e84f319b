import { createServer, type AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gqlOk, signUp, subscribe, wsClient } from '../helpers/client';
import { MAIN, startServerProcess } from '../helpers/process';
import { MESSAGE_ADDED_IDS } from '../helpers/operations';

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run the tests with \`npm test\`, which builds it first`);
});

/** Runs the README's `npm start` in this checkout; resolves with its URL once ready, or rejects with its output. */
function npmStart(): { ready: Promise<string>; stop(): void } {
  const child = spawn('npm', ['start'], {
    cwd: join(__dirname, '..', '..'),
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', JWT_SECRET: 'y'.repeat(40) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const ready = new Promise<string>((resolve, reject) => {
    const check = (d: Buffer) => {
      output += d;
      const match = /ready: (\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
  });
  // The whole group: npm, its shell and the server.
  return { ready, stop: () => process.kill(-child.pid!, 'SIGTERM') };
}

describe('the server process (npm start)', () => {
  it('comes up twice when two are started from one checkout at the same instant (npm start only runs, never builds)', async () => {
    const built = statSync(MAIN).mtimeMs;
    const [a, b] = [npmStart(), npmStart()];
    try {
      const urls = await Promise.all([a.ready, b.ready]);
      for (const url of urls) {
        const health = (await (await fetch(url.replace('/graphql', '/healthz'))).json()) as { status: string };
        expect(health.status).toBe('ok');
      }
      // Neither rebuilt dist/ under the other (as `rm -rf dist && tsc` on every start did).
      expect(statSync(MAIN).mtimeMs).toBe(built);
    } finally {
      a.stop();
      b.stop();
    }
  }, 30_000);

  it('runs on the embedded default with no configuration, warning once about JWT_SECRET', async () => {
    const server = await startServerProcess();
    try {
      const user = await signUp(server.url);
      expect((await gqlOk(server.url, '{ me { id } }', {}, user.token)).me.id).toBe(user.id);
      expect(server.output().match(/JWT_SECRET/g)).toHaveLength(1);
      expect(server.output()).toMatch(/in-memory/);
      expect(server.output().match(/push: off/g)).toHaveLength(1);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'shuts down cleanly on %s with a subscription open: sockets closed, exit 0',
    async (signal) => {
      const server = await startServerProcess({ JWT_SECRET: 'x'.repeat(40) });
      const user = await signUp(server.url);
      const client = wsClient(server.wsUrl, user.token);
      const closed = new Promise<number>((resolve) =>
        client.on('closed', (event) => resolve((event as { code: number }).code)),
      );
      const sub = subscribe(client, MESSAGE_ADDED_IDS);
      await gqlOk(server.url, '{ me { id } }', {}, user.token);
      await new Promise((r) => setTimeout(r, 200));
      server.child.kill(signal);
      expect(await server.exited).toBe(0);
      expect(await closed).toBe(1001);
      sub.dispose();
      await expect(fetch(server.url)).rejects.toThrow();
    },
  );

  it('refuses bad configuration with a clear message and exit 1', async () => {
    await expect(startServerProcess({ PORT: 'eighty' })).rejects.toThrow(/PORT must be an integer/);
    await expect(startServerProcess({ FIREBASE_SERVICE_ACCOUNT: '{not json' })).rejects.toThrow(
      /FIREBASE_SERVICE_ACCOUNT must be/,
    );
    await expect(startServerProcess({ JWT_SECRET: 'short' })).rejects.toThrow(/JWT_SECRET must be at least 32/);
  });
});

describe('start-up errors', () => {
  /** Runs dist/main.js with `env` until it exits: its exit code and everything it wrote. */
  const runToExit = (env: Record<string, string>) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [MAIN], {
        env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  const nobodyListens = 'redis://127.0.0.1:1';

  it.each([
    ['MONGODB_URI', { MONGODB_URI: 'http://db.example:27017' }],
    ['REDIS_URL', { REDIS_URL: 'localhost:6379' }],
    ['REDIS_URL', { REDIS_URL: nobodyListens, MEMORY_STORE_WITH_REDIS: 'true' }],
    ['REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: 'localhost' }],
    ['REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: '127.0.0.1:1', REDIS_URL: nobodyListens }],
    ['REDIS_CLUSTER_NODES', { REDIS_CLUSTER_NODES: '127.0.0.1:1', MEMORY_STORE_WITH_REDIS: 'true' }],
    ['MONGODB_URI', { MONGODB_URI: 'mongodb://127.0.0.1:1/', MONGODB_TIMEOUT_MS: '300' }],
    ['S3_REGION', { S3_BUCKET: 'media' }],
    ['S3_BUCKET', { S3_ENDPOINT: 'http://127.0.0.1:9000' }],
    // Each process would keep its own data while sharing delivery: refused before anything connects.
    ['REDIS_URL is set without MONGODB_URI', { REDIS_URL: nobodyListens }],
    ['REDIS_CLUSTER_NODES is set without MONGODB_URI', { REDIS_CLUSTER_NODES: '127.0.0.1:1' }],
  ])(
    '%s: one line naming the variable, exit code 1, no stack trace (%j)',
    async (variable, env) => {
      const { code, output } = await runToExit(env);
      expect(code).toBe(1);
      const lines = output.trim().split('\n');
      expect(lines.at(-1)).toMatch(new RegExp(`^configuration: ${variable}`));
      expect(output).not.toMatch(/^\s+at /m);
    },
    30_000,
  );

  it('PORT in use: one line naming PORT, exit code 1, no stack trace', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const { code, output } = await runToExit({ PORT: String((taken.address() as AddressInfo).port) });
      expect(code).toBe(1);
      expect(output.trim().split('\n').at(-1)).toMatch(/^configuration: PORT: \d+ is in use/);
      expect(output).not.toMatch(/^\s+at /m);
      expect(output).not.toMatch(/Internal error/);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  }, 30_000);

  it('push credentials without firebase-admin installed: one line saying to install it, exit code 1', async () => {
    // The hook resolves firebase-admin as an install with npm ci --omit=optional would: not found.
    const hook = join(__dirname, '..', 'helpers', 'withoutFirebaseAdmin.mjs');
    const { code, output } = await runToExit({
      FIREBASE_SERVICE_ACCOUNT: '{"project_id":"p"}',
      NODE_OPTIONS: `--import ${hook}`,
    });
    expect(code).toBe(1);
    expect(output.trim().split('\n').at(-1)).toBe(
      'configuration: push: firebase-admin is not installed: npm install firebase-admin',
    );
    expect(output).not.toMatch(/^\s+at /m);
  }, 30_000);
});
