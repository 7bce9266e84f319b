import { loadConfig } from '../../src/config';
import { openBackends } from '../../src/app/backends';
import { captureLog, TEST_JWT_SECRET } from '../helpers/server';

const S3 = {
  S3_BUCKET: 'media',
  S3_REGION: 'auto',
  S3_ACCESS_KEY_ID: 'AKEXAMPLE',
  S3_SECRET_ACCESS_KEY: 'secret-example',
};

describe('media configuration', () => {
  it('takes the four required S3 variables all or none, naming the first one missing', () => {
    expect(loadConfig({}).s3).toBeNull();
    expect(() => loadConfig({ S3_BUCKET: 'media' })).toThrow(/^S3_REGION is not set/);
    expect(() => loadConfig({ ...S3, S3_ACCESS_KEY_ID: ' ' })).toThrow(/^S3_ACCESS_KEY_ID is not set/);
    expect(() => loadConfig({ S3_SECRET_ACCESS_KEY: 'x' })).toThrow(/^S3_BUCKET is not set/);
    expect(() => loadConfig({ S3_ENDPOINT: 'http://127.0.0.1:9000' })).toThrow(
      /^S3_BUCKET is needed: S3_ENDPOINT is set/,
    );
    expect(() => loadConfig({ ...S3, S3_ENDPOINT: 'minio:9000' })).toThrow(/^S3_ENDPOINT must be/);
    expect(() => loadConfig({ ...S3, S3_FORCE_PATH_STYLE: 'maybe' })).toThrow(/^S3_FORCE_PATH_STYLE/);
    expect(loadConfig({ ...S3, S3_ENDPOINT: 'https://acc.r2.cloudflarestorage.com' }).s3).toEqual({
      bucket: 'media',
      region: 'auto',
      accessKeyId: 'AKEXAMPLE',
      secretAccessKey: 'secret-example',
      endpoint: 'https://acc.r2.cloudflarestorage.com',
      forcePathStyle: false,
    });
  });

  it('signs local media URLs with MEDIA_SECRET, or a key derived from JWT_SECRET that is not JWT_SECRET', () => {
    expect(() => loadConfig({ MEDIA_SECRET: 'short' })).toThrow(/^MEDIA_SECRET must be at least 32/);
    const derived = loadConfig({ JWT_SECRET: TEST_JWT_SECRET }).mediaSecret;
    expect(derived).not.toBe(TEST_JWT_SECRET);
    expect(loadConfig({ JWT_SECRET: TEST_JWT_SECRET }).mediaSecret).toBe(derived);
    expect(loadConfig({ JWT_SECRET: TEST_JWT_SECRET, MEDIA_SECRET: 'm'.repeat(32) }).mediaSecret).toBe('m'.repeat(32));
    expect(() => loadConfig({ MEDIA_PUBLIC_URL: 'chat.example.com' })).toThrow(/^MEDIA_PUBLIC_URL must be/);
  });

  it('opens the local directory by default, logging where it is, and S3 when S3_BUCKET is set', async () => {
    const local = captureLog();
    const config = loadConfig({ MEDIA_DIR: '/var/tmp/chat-media-test', MEDIA_PUBLIC_URL: 'https://chat.example.com/' });
    const backends = await openBackends(config, local.log);
    expect(local.lines.map((l) => l.msg)).toContainEqual(
      expect.stringMatching(/^media: local directory \/var\/tmp\/chat-media-test /),
    );
    expect(backends.media.served).toBeDefined();
    const upload = await backends.media.presignUpload('u/a/b', {
      contentType: 'image/png',
      byteSize: 1,
      expiresInSeconds: 60,
    });
    expect(upload.url).toMatch(/^https:\/\/chat\.example\.com\/media\/u\/a\/b\?/);
    await backends.close();

    const s3 = captureLog();
    const remote = await openBackends(loadConfig({ ...S3, S3_ENDPOINT: 'https://s3.example.com' }), s3.log);
    expect(s3.lines.map((l) => l.msg)).toContain('media: S3 bucket "media" at https://s3.example.com');
    expect(remote.media.served).toBeUndefined();
    const url = await remote.media.presignDownload('u/a/b', { expiresInSeconds: 60, contentType: 'image/png' });
    expect(url).toMatch(/^https:\/\/media\.s3\.example\.com\/u\/a\/b\?.*X-Amz-Signature=/);
    await remote.close();
  });
});
