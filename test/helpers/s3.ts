import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client, type S3Settings } from '../../src/media/s3';
import { freePort, managed, useFixture, type BackendProcess, type Fixture } from './backends';

/** Where .ci/run (scripts/install-s3.sh) puts versitygw; VERSITYGW_BIN overrides. */
export const VERSITYGW_BIN = process.env.VERSITYGW_BIN ?? join(__dirname, '..', '..', '.tools', 'bin', 'versitygw');

/**
 * Whether the S3 suites can run here: in CI they must (a missing binary fails the run);
 * elsewhere they are skipped with a loud message, as backendsAvailable does for Redis and FerretDB.
 */
export function s3Available(what: string): boolean {
  if (existsSync(VERSITYGW_BIN) && spawnSync(VERSITYGW_BIN, ['--version']).status === 0) return true;
  const message = `SKIPPED: ${what} needs versitygw at ${VERSITYGW_BIN} (bash scripts/install-s3.sh); .ci/run installs it.`;
  if (process.env.CI) throw new Error(`${message} In CI these suites must run.`);
  // eslint-disable-next-line no-console
  console.warn(`\n${'!'.repeat(message.length)}\n${message}\n${'!'.repeat(message.length)}\n`);
  return false;
}

/** A private S3-compatible server with one empty bucket, and the settings to reach it. */
export interface S3Server extends BackendProcess {
  settings: S3Settings;
}

/**
 * versitygw on a free port, keeping objects as files in a temporary directory (its posix
 * backend), with fresh random credentials and one bucket made through the S3 API.
 */
export async function startS3(): Promise<S3Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'versitygw-'));
  mkdirSync(join(dir, 'data'));
  mkdirSync(join(dir, 'meta'));
  const settings: S3Settings = {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: `media-${randomBytes(4).toString('hex')}`,
    region: 'us-east-1',
    accessKeyId: `AK${randomBytes(9).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
    forcePathStyle: true,
  };
  const backend = managed(
    port,
    settings.endpoint!,
    () =>
      spawn(
        VERSITYGW_BIN,
        [
          `--port=127.0.0.1:${port}`,
          `--access=${settings.accessKeyId}`,
          `--secret=${settings.secretAccessKey}`,
          `--region=${settings.region}`,
          'posix',
          // Object metadata (the Content-Type) beside the data rather than in extended attributes, which
          // not every temporary file system keeps.
          `--sidecar=${join(dir, 'meta')}`,
          join(dir, 'data'),
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    () => rmSync(dir, { recursive: true, force: true }),
  );
  const client = createS3Client(settings);
  try {
    await backend.start();
    await client.send(new CreateBucketCommand({ Bucket: settings.bucket }));
  } catch (error) {
    await backend.dispose();
    throw error;
  } finally {
    client.destroy();
  }
  return { ...backend, settings };
}

/** A private S3 server for the file's tests (see `startS3`). */
export function useS3(): Fixture<S3Server> {
  return useFixture(startS3);
}
