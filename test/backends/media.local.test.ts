import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalMediaStore } from '../../src/media/local';
import { useFixture } from '../helpers/backends';
import { startTestServer } from '../helpers/server';
import { describeMediaStore } from './media.conformance';

/** The embedded default: a temporary directory, its URLs answered by a real server on a free port. */
describeMediaStore(
  'local directory (served by this server)',
  () =>
    useFixture(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'media-'));
      const media = createLocalMediaStore({ dir, secret: 'media-test-secret-media-test-secret' });
      const server = await startTestServer({ media });
      return {
        media,
        async dispose() {
          await server.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }),
  { nosniff: true },
);
