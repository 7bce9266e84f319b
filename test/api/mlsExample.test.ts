import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestServer } from '../helpers/server';

const root = join(__dirname, '..', '..');

describe('examples/mls.mjs', () => {
  // The script runs in its own Node process, which loads ts-mls (ESM only) natively; jest's would need its transform.
  it('signs up two devices, adds one to an encrypted group, and both decrypt what the other sent; the server holds only ciphertext', async () => {
    const server = await startTestServer();
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'examples', 'mls.mjs'), server.url], {
        cwd: root,
        timeout: 60_000,
      });
      expect(stdout).toMatch(/bob: joined the group from the Welcome \(epoch 1\)/);
      expect(stdout).toContain('bob decrypted: Hello Bob, this is end-to-end encrypted.');
      expect(stdout).toContain('alice decrypted: Hi Alice! The server only relays ciphertext.');
      expect(stdout).toContain('bob decrypted: Noon at the usual place?');
      expect(stdout).toMatch(/server: seq 1 COMMIT \(epoch 0\): \d+ bytes of MLS, content ""/);
      expect(stdout.match(/server: seq \d APPLICATION \(epoch 1\): \d+ bytes of MLS, content ""/g)).toHaveLength(3);
      expect(stdout).toContain('ok: both devices decrypted every message');
    } finally {
      await server.stop();
    }
  }, 90_000);

  it('exits with 1 and one line naming the server when it cannot reach it', async () => {
    const run = promisify(execFile)(
      process.execPath,
      [join(root, 'examples', 'mls.mjs'), 'http://127.0.0.1:1/graphql'],
      {
        cwd: root,
        timeout: 30_000,
      },
    );
    await expect(run).rejects.toMatchObject({ code: 1, stderr: 'mls.mjs: cannot reach http://127.0.0.1:1/graphql\n' });
  }, 60_000);
});
