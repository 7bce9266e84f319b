import { createS3Client, createS3MediaStore } from '../../src/media/s3';
import { useFixture } from '../helpers/backends';
import { s3Available, startS3 } from '../helpers/s3';
import { describeMediaStore } from './media.conformance';

/** The media store on a real S3-compatible server (versitygw), which checks every signature itself. */
if (s3Available('the S3 media store tests')) {
  describeMediaStore(
    'S3 (versitygw)',
    () =>
      useFixture(async () => {
        const s3 = await startS3();
        const client = createS3Client(s3.settings);
        return {
          media: createS3MediaStore(client, { bucket: s3.settings.bucket }),
          async dispose() {
            client.destroy();
            await s3.dispose();
          },
        };
      }),
    { nosniff: false },
  );
} else {
  test.skip('S3 media store (versitygw not installed)', () => {});
}
