import { execFile, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gqlOk, uniqueName } from '../helpers/client';
import { CREATE_GROUP, SEND } from '../helpers/operations';
import { startTestServer, useTestServer } from '../helpers/server';

const root = join(__dirname, '..', '..');
const example = join(root, 'examples', 'client');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

/** The number after `label: ` in the example's output. */
const count = (stdout: string, label: string) => Number(new RegExp(`${label}: (\\d+)`).exec(stdout)?.[1] ?? NaN);

describe('the typed client example (examples/client)', () => {
  it('has committed typed documents that match its codegen over the published schema.graphql', () => {
    execFileSync(bin('graphql-codegen'), ['--config', 'codegen.yml', '--check'], { cwd: example, stdio: 'pipe' });
  }, 60_000);

  it('type-checks, then runs with 3-second access tokens: pages history, merges live messages, resumes across reconnects and expiries, sends a photo', async () => {
    execFileSync(bin('tsc'), ['-p', example], { stdio: 'pipe' });
    const server = await startTestServer({ env: { ACCESS_TOKEN_TTL_SECONDS: '3' } });
    try {
      const { stdout } = await promisify(execFile)('node', [join(example, 'dist', 'main.js'), server.url], {
        timeout: 60_000,
      });
      const ok = /ok: \d+ messages, each once, in order, across a reconnect and (\d+) token expiries/.exec(stdout);
      expect(ok).not.toBeNull();
      // Bob's connection is closed at each expiry and comes back with a renewed token.
      expect(Number(ok![1])).toBeGreaterThanOrEqual(3);
      expect(count(stdout, 'renewals')).toBeGreaterThanOrEqual(3);
      // Alice's slow clock leaves expiry to the server: her refused sends were renewed and sent again.
      expect(count(stdout, 'retries')).toBeGreaterThanOrEqual(1);
      // And a photo: uploaded, completed, sent, and downloaded by the other member from its signed URL.
      expect(stdout).toMatch(/photo: IMAGE 8x6 image\/png, Bob downloaded its \d+ bytes/);
    } finally {
      await server.stop();
    }
  }, 90_000);
});

/** A signed-up user whose access token is renewed (with its refresh token) shortly before it expires. */
async function signedUp(url: string, name: string) {
  const PAIR = 'token expiresAt refreshToken';
  const signUp = `mutation($u: String!, $p: String!) { signUp(username: $u, password: $p) { ${PAIR} user { id } } }`;
  const { signUp: first } = await gqlOk(url, signUp, { u: uniqueName(name), p: 'password-123' });
  const renew = `mutation($r: String!) { renewSession(refreshToken: $r) { ${PAIR} } }`;
  let pair: { token: string; expiresAt: string; refreshToken: string } = first;
  return {
    id: first.user.id as string,
    first: pair,
    async token() {
      if (Date.parse(pair.expiresAt) - Date.now() < 1000) {
        pair = (await gqlOk(url, renew, { r: pair.refreshToken })).renewSession;
      }
      return pair.token;
    },
  };
}

/** `node examples/listen.mjs ...args`, its output so far, and its exit code once it exits. */
function listen(args: string[]) {
  const env = { ...process.env };
  delete env.REFRESH_TOKEN;
  const child = spawn('node', [join(root, 'examples', 'listen.mjs'), ...args], { cwd: root, env });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += String(chunk)));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { output, exited, stop: () => child.kill() };
}

/** The contents of the messages listen.mjs printed, in the order it printed them. */
const printed = (stdout: string): string[] =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { data: { messageAdded: { content: string } } }).data.messageAdded.content);

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('examples/listen.mjs with 3-second access tokens', () => {
  const server = useTestServer({ env: { ACCESS_TOKEN_TTL_SECONDS: '3' } });

  async function conversation() {
    const alice = await signedUp(server.url, 'alice');
    const bob = await signedUp(server.url, 'bob');
    const { createGroup } = await gqlOk(server.url, CREATE_GROUP, { t: 'listen', m: [bob.id] }, await alice.token());
    return { alice, bob, conversationId: createGroup.id as string };
  }

  it('renews with --refresh-token on each expiry and resumes after the newest message: every message once, in order', async () => {
    const { alice, bob, conversationId } = await conversation();
    const { token, refreshToken } = bob.first;
    const listener = listen(['--url', server.wsUrl, '--refresh-token', refreshToken, token, conversationId]);
    try {
      await server.pubsub.waitForSubscribers('messageAdded', bob.id);
      // 8 s of messages, 200 ms apart: at least two expiries of the listener's token.
      const sent: string[] = [];
      const end = Date.now() + 8000;
      while (Date.now() < end) {
        sent.push(`message ${sent.length + 1}`);
        await gqlOk(server.url, SEND, { c: conversationId, t: sent.at(-1) }, await alice.token());
        await pause(200);
      }
      for (const deadline = Date.now() + 10_000; printed(listener.output.stdout).length < sent.length; ) {
        if (Date.now() > deadline) throw new Error(`listen.mjs printed only:\n${listener.output.stdout}`);
        await pause(50);
      }
      expect(printed(listener.output.stdout)).toEqual(sent);
      expect(listener.output.stderr.match(/renewed the access token/g)?.length).toBeGreaterThanOrEqual(2);
    } finally {
      listener.stop();
      await listener.exited;
    }
  }, 30_000);

  it('without a refresh token, says how to pass one when the token expires and exits with 1', async () => {
    const { bob, conversationId } = await conversation();
    const listener = listen(['--url', server.wsUrl, bob.first.token, conversationId]);
    expect(await listener.exited).toBe(1);
    expect(listener.output.stderr.trim()).toBe(
      'the access token expired: pass --refresh-token <refreshToken> (or set REFRESH_TOKEN) to renew it',
    );
  }, 15_000);
});
