import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { useTestServer } from '../helpers/server';

const root = join(__dirname, '..', '..');
const example = join(root, 'examples', 'client');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

describe('the typed client example (examples/client)', () => {
  const server = useTestServer();

  it('has committed typed documents that match its codegen over the published schema.graphql', () => {
    execFileSync(bin('graphql-codegen'), ['--config', 'codegen.yml', '--check'], { cwd: example, stdio: 'pipe' });
  }, 60_000);

  it('type-checks, then runs against a server: pages history, merges live messages, resumes after a reconnect', async () => {
    execFileSync(bin('tsc'), ['-p', example], { stdio: 'pipe' });
    const { stdout } = await promisify(execFile)('node', [join(example, 'dist', 'main.js'), server.url], {
      timeout: 60_000,
    });
    expect(stdout).toContain('ok: 9 messages, each once, in order, across a reconnect');
  }, 90_000);
});
