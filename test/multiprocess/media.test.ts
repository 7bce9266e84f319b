import sharp from 'sharp';
import { createS3Client, createS3MediaStore } from '../../src/media/s3';
import type { MediaStore } from '../../src/media/media';
import { backendsAvailable } from '../helpers/backends';
import { codes, gql, gqlOk, signUpMany, subscribe, wsClient, type TestUser } from '../helpers/client';
import { probe, useCluster } from '../helpers/cluster';
import {
  ATTACHMENT_FIELDS,
  SEND_WITH,
  SET_AVATAR,
  download,
  hasGps,
  jpegWithGps,
  png,
  pngBomb,
  sha256,
  uploadFile,
  uploadOk,
} from '../helpers/media';
import { CREATE_GROUP } from '../helpers/operations';
import type { ServerProcess } from '../helpers/process';
import { s3Available, useS3 } from '../helpers/s3';

const run = backendsAvailable('the multi-process media suite') && s3Available('the multi-process media suite');

/** The key of an S3 presigned URL (path style: /bucket/key). */
const keyOf = (url: string) => new URL(url).pathname.split('/').slice(2).join('/');

(run ? describe : describe.skip)('media across two processes on S3 (versitygw), FerretDB and Redis', () => {
  const cluster = useCluster();
  const s3 = useS3();
  let a: ServerProcess;
  let b: ServerProcess;
  let media: MediaStore;
  let destroy: () => void;
  beforeAll(async () => {
    const { settings } = s3.current;
    const env = {
      S3_ENDPOINT: settings.endpoint!,
      S3_BUCKET: settings.bucket,
      S3_REGION: settings.region,
      S3_ACCESS_KEY_ID: settings.accessKeyId,
      S3_SECRET_ACCESS_KEY: settings.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    };
    [a, b] = await Promise.all([cluster.current.start(env), cluster.current.start(env)]);
    const client = createS3Client(settings);
    media = createS3MediaStore(client, { bucket: settings.bucket });
    destroy = () => client.destroy();
  }, 60_000);
  afterAll(() => destroy?.());

  it('uploads through A; a member on B gets the message and downloads the exact bytes, stripped photos and previews', async () => {
    const [alice, bob, carol] = (await signUpMany(a.url, 3, 'mpmedia')) as TestUser[];
    const c = (await gqlOk(a.url, CREATE_GROUP, { t: 'g', m: [bob!.id] }, alice!.token)).createGroup.id;
    const client = wsClient(b.wsUrl, bob!.token);
    try {
      const sub = subscribe(
        client,
        `subscription($c: ID) { messageAdded(conversationId: $c) { id content attachments { ${ATTACHMENT_FIELDS} } } }`,
        { c },
      );
      await probe(a.url, alice!, c, [sub]);
      const file = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(200_000, 3)]);
      const pdf = await uploadOk(a.url, alice!.token, file, { fileName: 'notes.pdf', contentType: 'application/pdf' });
      const photo = await jpegWithGps(640, 480);
      expect(hasGps((await sharp(photo).metadata()).exif)).toBe(true);
      const image = await uploadOk(b.url, alice!.token, photo, { fileName: 'IMG.jpg', contentType: 'image/jpeg' });
      await gqlOk(a.url, SEND_WITH, { c, t: '', a: [pdf.id, image.id] }, alice!.token);
      const [got] = await sub.take(1, 15_000);
      const [onB1, onB2] = got.messageAdded.attachments;
      expect(onB1).toMatchObject({ kind: 'FILE', fileName: 'notes.pdf', byteSize: file.length });
      expect(sha256((await download(onB1.url)).bytes)).toBe(sha256(file));
      expect(onB2).toMatchObject({ kind: 'IMAGE', width: 480, height: 640 });
      const served = await download(onB2.url);
      expect(served.status).toBe(200);
      const meta = await sharp(served.bytes).metadata();
      expect([meta.width, meta.height, meta.exif]).toEqual([480, 640, undefined]);
      expect(served.bytes.includes(Buffer.from('TestCam'))).toBe(false);
      const thumb = await sharp((await download(onB2.thumbnailUrl)).bytes).metadata();
      expect([thumb.format, thumb.width, thumb.height]).toEqual(['webp', 240, 320]);
      // The bytes as sent (with their GPS) are gone from the bucket.
      expect(await media.head(keyOf(onB2.url).replace(/-image$/, ''))).toBeNull();

      const history = `query($c: ID!) { messages(conversationId: $c) { edges { node { attachments { url } } } } }`;
      expect(codes(await gql(b.url, history, { c }, carol!.token))).toEqual(['FORBIDDEN']);
    } finally {
      await client.dispose();
    }
  });

  it('refuses a PNG bomb, a mismatch and a reused upload, keeping nothing; one of two racing sends wins', async () => {
    const [alice] = (await signUpMany(a.url, 1, 'mpbad')) as TestUser[];
    const c = (await gqlOk(a.url, CREATE_GROUP, { t: 'g', m: [] }, alice!.token)).createGroup.id;
    for (const [bytes, contentType] of [
      [pngBomb(), 'image/png'],
      [await png(), 'image/jpeg'],
      [Buffer.from('<html></html>'), 'image/png'],
    ] as const) {
      const { upload, complete } = await uploadFile(b.url, alice!.token, bytes, { contentType });
      expect(codes(complete)).toEqual(['BAD_USER_INPUT']);
      expect(await media.head(keyOf(upload.url))).toBeNull();
    }
    const file = await uploadOk(a.url, alice!.token, await png(), { contentType: 'image/png' });
    const racing = await Promise.all(
      [a, b, a, b].map((p, i) => gql(p.url, SEND_WITH, { c, t: `r${i}`, a: [file.id] }, alice!.token)),
    );
    expect(racing.filter((r) => !r.errors)).toHaveLength(1);
    expect(racing.flatMap(codes)).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT']);
  });

  it('sets, replaces and removes an avatar through either process', async () => {
    const [alice] = (await signUpMany(a.url, 1, 'mpavatar')) as TestUser[];
    const first = await uploadOk(a.url, alice!.token, await png(500, 300), {
      contentType: 'image/png',
      purpose: 'AVATAR',
    });
    const set = (await gqlOk(b.url, SET_AVATAR, { u: first.id }, alice!.token)).setAvatar;
    const square = await sharp((await download(set.avatarUrl)).bytes).metadata();
    expect([square.width, square.height]).toEqual([256, 256]);
    const second = await uploadOk(b.url, alice!.token, await png(), { contentType: 'image/png', purpose: 'AVATAR' });
    const replaced = (await gqlOk(a.url, SET_AVATAR, { u: second.id }, alice!.token)).setAvatar;
    expect(await media.head(keyOf(set.avatarUrl))).toBeNull();
    const removed = (await gqlOk(b.url, SET_AVATAR, { u: null }, alice!.token)).setAvatar;
    expect(removed.avatarUrl).toBeNull();
    expect(await media.head(keyOf(replaced.avatarUrl))).toBeNull();
  });
});
