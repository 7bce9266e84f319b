import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestServer } from '../helpers/server';

const root = join(__dirname, '..', '..');
const example = join(root, 'examples', 'client');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

/** The number after `label: ` in the example's output. */
const count = (stdout: string, label: string) => Number(new RegExp(`${label}: (\\d+)`).exec(stdout)?.[1] ?? NaN);

describe('the typed client example (examples/client)', () => {
  it('has committed typed documents that match its codegen over the published schema.graphql', () => {
    execFileSync(bin('graphql-codegen'), ['--config', 'codegen.yml', '--check'], { cwd: example, stdio: 'pipe' });
  }, 60_000);

  it('type-checks, then runs with 3-second access tokens: pages history, merges live messages, resumes across reconnects and expiries', async () => {
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
    } finally {
      await server.stop();
    }
  }, 90_000);
});
