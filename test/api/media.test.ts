import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createLocalMediaStore } from '../../src/media/local';
import type { MediaStore } from '../../src/media/media';
import { previewOf } from '../../src/push/notifier';
import { sweepUploads } from '../../src/attachments/sweeper';
import { createLogger } from '../../src/lib/log';
import { codes, gql, gqlOk, signUpMany, subscribe, wsClient } from '../helpers/client';
import {
  ATTACHMENT_FIELDS,
  COMPLETE_UPLOAD,
  SEND_WITH,
  SET_AVATAR,
  download,
  hasGps,
  jpegWithGps,
  png,
  pngBomb,
  put,
  reserve,
  sha256,
  uploadFile,
  uploadOk,
  type ReservedUpload,
} from '../helpers/media';
import { CREATE_GROUP, DELETE } from '../helpers/operations';
import { startTestServer, testConfig, type TestServer } from '../helpers/server';

const keyOf = (upload: ReservedUpload) => new URL(upload.url).pathname.replace(/^\/media\//, '');
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(3000, 7), Buffer.from('\n%%EOF\n')]);

describe('media: uploads, attachments and avatars (embedded default)', () => {
  let server: TestServer;
  let media: MediaStore;
  let dir: string;
  const clock = Date.now();
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'media-api-'));
    media = createLocalMediaStore({ dir, secret: 's'.repeat(40) });
    server = await startTestServer({ media, now: () => new Date(clock) });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const group = async (token: string, memberIds: string[]) =>
    (await gqlOk(server.url, CREATE_GROUP, { t: 'g', m: memberIds }, token)).createGroup.id as string;

  it('upload → complete → send: a member’s subscription gets the attachments, whose URLs serve the exact bytes', async () => {
    const [alice, bob] = await signUpMany(server.url, 2, 'media');
    const c = await group(alice!.token, [bob!.id]);
    const client = wsClient(server.wsUrl, bob!.token);
    try {
      const sub = subscribe(
        client,
        `subscription { messageAdded { id content attachments { ${ATTACHMENT_FIELDS} } } }`,
      );
      await server.pubsub.waitForSubscribers('messageAdded', bob!.id);
      const file = await uploadOk(server.url, alice!.token, PDF, {
        fileName: 'report.pdf',
        contentType: 'application/pdf',
      });
      expect(file).toMatchObject({ kind: 'FILE', contentType: 'application/pdf', byteSize: PDF.length });
      expect(file.thumbnailUrl).toBeNull();
      const sent = (await gqlOk(server.url, SEND_WITH, { c, t: '', a: [file.id] }, alice!.token)).sendMessage;
      expect(sent.content).toBe('');
      const [got] = await sub.take(1);
      const attachment = got.messageAdded.attachments[0];
      expect(attachment).toMatchObject({ id: file.id, fileName: 'report.pdf', byteSize: PDF.length });
      expect(Date.parse(attachment.urlExpiresAt)).toBeGreaterThan(Date.now());
      const fetched = await download(attachment.url);
      expect(fetched.status).toBe(200);
      expect(sha256(fetched.bytes)).toBe(sha256(PDF));
      // Not a type a browser shows without risk: a download.
      expect(fetched.headers.get('content-disposition')).toMatch(/^attachment;/);
    } finally {
      await client.dispose();
    }
  });

  it('strips EXIF and GPS from photos, turns them upright, and makes a 320 px WebP preview', async () => {
    const [alice] = await signUpMany(server.url, 1, 'photo');
    const photo = await jpegWithGps(400, 300);
    expect(hasGps((await sharp(photo).metadata()).exif)).toBe(true);
    const image = await uploadOk(server.url, alice!.token, photo, { fileName: 'IMG_1.jpg', contentType: 'image/jpeg' });
    // Orientation 6: the stored image is the photo turned upright, 300 × 400.
    expect(image).toMatchObject({ kind: 'IMAGE', contentType: 'image/jpeg', width: 300, height: 400 });
    const served = await download(image.url);
    expect(served.headers.get('content-type')).toBe('image/jpeg');
    const meta = await sharp(served.bytes).metadata();
    expect([meta.width, meta.height, meta.exif, meta.orientation]).toEqual([300, 400, undefined, undefined]);
    expect(hasGps(served.bytes)).toBe(false);
    expect(served.bytes.includes(Buffer.from('TestCam'))).toBe(false);
    const thumb = await sharp((await download(image.thumbnailUrl)).bytes).metadata();
    expect([thumb.format, thumb.width, thumb.height]).toEqual(['webp', 240, 320]);
  });

  it('refuses what is not as declared, with BAD_USER_INPUT, and keeps nothing', async () => {
    const [alice] = await signUpMany(server.url, 1, 'bad');
    const small = await png();
    const rejected = async (bytes: Buffer, contentType: string, why: RegExp) => {
      const { upload, complete } = await uploadFile(server.url, alice!.token, bytes, { contentType });
      expect(codes(complete)).toEqual(['BAD_USER_INPUT']);
      expect(complete.errors![0]!.message).toMatch(why);
      expect(await media.head(keyOf(upload))).toBeNull();
    };
    await rejected(small, 'image/jpeg', /image\/png, not image\/jpeg/);
    await rejected(Buffer.from('<html><script>alert(1)</script></html>'), 'image/png', /not image\/png/);
    await rejected(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>'), 'image/png', /not image/);
    await rejected(pngBomb(), 'image/png', /50 megapixels/);
    const photo = await jpegWithGps();
    await rejected(
      photo.subarray(0, Math.floor(photo.length / 2)),
      'image/jpeg',
      /not an image that can be read|cannot be decoded/,
    );

    // More bytes than declared, or fewer: the storage refuses them, and completing finds nothing.
    for (const body of [Buffer.concat([small, Buffer.alloc(10)]), small.subarray(0, 20)]) {
      const upload = (await reserve(server.url, alice!.token, small, { contentType: 'image/png' })).data!
        .createUpload as ReservedUpload;
      expect(await put(upload, body)).not.toBe(200);
      const complete = await gql(server.url, COMPLETE_UPLOAD, { u: upload.id }, alice!.token);
      expect(codes(complete)).toEqual(['BAD_USER_INPUT']);
      expect(await media.head(keyOf(upload))).toBeNull();
    }
  });

  it('keeps an SVG a download: a file of type application/octet-stream, never shown inline', async () => {
    const [alice] = await signUpMany(server.url, 1, 'svg');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>');
    const file = await uploadOk(server.url, alice!.token, svg, { fileName: 'x.svg', contentType: 'image/svg+xml' });
    expect(file).toMatchObject({ kind: 'FILE', contentType: 'application/octet-stream', width: null });
    const served = await download(file.url);
    expect(served.headers.get('content-type')).toBe('application/octet-stream');
    expect(served.headers.get('content-disposition')).toMatch(/^attachment;/);
    const avatar = await reserve(server.url, alice!.token, svg, { contentType: 'image/svg+xml', purpose: 'AVATAR' });
    expect(codes(avatar)).toEqual(['BAD_USER_INPUT']);
  });

  it('checks the declared size against the limits before reserving anything', async () => {
    const [alice] = await signUpMany(server.url, 1, 'limits');
    const big = await reserve(server.url, alice!.token, Buffer.alloc(0), {
      contentType: 'video/mp4',
      byteSize: 100 * 1024 * 1024 + 1,
    });
    expect(codes(big)).toEqual(['BAD_USER_INPUT']);
    expect(big.errors![0]!.message).toMatch(/MAX_UPLOAD_BYTES/);
    const avatar = await reserve(server.url, alice!.token, Buffer.alloc(0), {
      contentType: 'image/jpeg',
      purpose: 'AVATAR',
      byteSize: 5 * 1024 * 1024 + 1,
    });
    expect(codes(avatar)).toEqual(['BAD_USER_INPUT']);
    expect(avatar.errors![0]!.message).toMatch(/5 MB/);
  });

  it('sends each upload once, the sender’s own only; two sends racing for one upload: exactly one wins', async () => {
    const [alice, bob, carol] = await signUpMany(server.url, 3, 'once');
    const c = await group(alice!.token, [bob!.id]);
    const file = await uploadOk(server.url, alice!.token, PDF, { contentType: 'application/pdf' });
    const racing = await Promise.all(
      [1, 2, 3].map((i) => gql(server.url, SEND_WITH, { c, t: `race ${i}`, a: [file.id] }, alice!.token)),
    );
    expect(racing.filter((r) => !r.errors).length).toBe(1);
    expect(racing.flatMap(codes).sort()).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT']);
    const again = await gql(server.url, SEND_WITH, { c, t: 'again', a: [file.id] }, alice!.token);
    expect(codes(again)).toEqual(['BAD_USER_INPUT']);

    const mine = await uploadOk(server.url, alice!.token, PDF, { contentType: 'application/pdf' });
    expect(codes(await gql(server.url, SEND_WITH, { c, t: 'x', a: [mine.id] }, bob!.token))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(codes(await gql(server.url, COMPLETE_UPLOAD, { u: mine.id }, bob!.token))).toEqual(['NOT_FOUND']);
    // A retry with the same clientMessageId is the same message, not a reuse.
    const first = await gqlOk(server.url, SEND_WITH, { c, t: '', a: [mine.id], k: 'k1' }, alice!.token);
    const retry = await gqlOk(server.url, SEND_WITH, { c, t: '', a: [mine.id], k: 'k1' }, alice!.token);
    expect(retry.sendMessage.id).toBe(first.sendMessage.id);
    expect(codes(await gql(server.url, SEND_WITH, { c, t: '', a: [] }, alice!.token))).toEqual(['BAD_USER_INPUT']);
    const eleven = Array.from({ length: 11 }, () => mine.id);
    expect(codes(await gql(server.url, SEND_WITH, { c, t: 'x', a: eleven }, alice!.token))).toEqual(['BAD_USER_INPUT']);

    // A stranger sees neither the history nor, through it, the attachments.
    const history = `query($c: ID!) { messages(conversationId: $c) { edges { node { attachments { url } } } } }`;
    expect(codes(await gql(server.url, history, { c }, carol!.token))).toEqual(['FORBIDDEN']);
    const seen = await gqlOk(server.url, history, { c }, bob!.token);
    expect(seen.messages.edges.flatMap((e: any) => e.node.attachments)).toHaveLength(2);
  });

  it('deletes a message’s files with it', async () => {
    const [alice] = await signUpMany(server.url, 1, 'delete');
    const c = await group(alice!.token, []);
    const { upload, complete } = await uploadFile(server.url, alice!.token, await png(), {
      contentType: 'image/png',
    });
    const image = complete.data!.completeUpload;
    const sent = (await gqlOk(server.url, SEND_WITH, { c, t: 'pic', a: [image.id] }, alice!.token)).sendMessage;
    expect((await download(image.url)).status).toBe(200);
    await gqlOk(server.url, DELETE, { m: sent.id }, alice!.token);
    expect((await download(image.url)).status).toBe(404);
    expect((await download(image.thumbnailUrl)).status).toBe(404);
    expect(await media.head(`${keyOf(upload)}-image`)).toBeNull();
  });

  it('sweeps uploads never attached after a day, and leaves attached ones', async () => {
    const [alice] = await signUpMany(server.url, 1, 'sweep');
    const c = await group(alice!.token, []);
    const orphan = await uploadFile(server.url, alice!.token, await png(), { contentType: 'image/png' });
    const kept = await uploadOk(server.url, alice!.token, PDF, { contentType: 'application/pdf' });
    await gqlOk(server.url, SEND_WITH, { c, t: '', a: [kept.id] }, alice!.token);
    const deps = { store: server.store, media, log: createLogger('silent') };
    expect(await sweepUploads({ ...deps, now: () => new Date(clock + 23 * 3600_000) })).toBe(0);
    expect(await sweepUploads({ ...deps, now: () => new Date(clock + 25 * 3600_000) })).toBeGreaterThanOrEqual(1);
    expect(await media.head(`${keyOf(orphan.upload)}-image`)).toBeNull();
    expect(await server.store.uploads.getMany([orphan.upload.id])).toEqual([null]);
    expect((await download(kept.url)).status).toBe(200);
    expect(codes(await gql(server.url, SEND_WITH, { c, t: '', a: [orphan.upload.id] }, alice!.token))).toEqual([
      'BAD_USER_INPUT',
    ]);
  });

  it('sets, replaces and removes an avatar (a 256 px square), deleting the one it replaces', async () => {
    const [alice, bob] = await signUpMany(server.url, 2, 'avatar');
    const first = await uploadOk(server.url, alice!.token, await jpegWithGps(), {
      contentType: 'image/jpeg',
      purpose: 'AVATAR',
    });
    const set = (await gqlOk(server.url, SET_AVATAR, { u: first.id }, alice!.token)).setAvatar;
    const square = await sharp((await download(set.avatarUrl)).bytes).metadata();
    expect([square.format, square.width, square.height, square.exif]).toEqual(['webp', 256, 256, undefined]);
    // Used up.
    expect(codes(await gql(server.url, SET_AVATAR, { u: first.id }, alice!.token))).toEqual(['NOT_FOUND']);
    const attachment = await uploadOk(server.url, alice!.token, await png(), { contentType: 'image/png' });
    expect(codes(await gql(server.url, SET_AVATAR, { u: attachment.id }, alice!.token))).toEqual(['BAD_USER_INPUT']);
    const other = await uploadOk(server.url, bob!.token, await png(), { contentType: 'image/png', purpose: 'AVATAR' });
    expect(codes(await gql(server.url, SET_AVATAR, { u: other.id }, alice!.token))).toEqual(['NOT_FOUND']);

    const second = await uploadOk(server.url, alice!.token, await png(300, 100), {
      contentType: 'image/png',
      purpose: 'AVATAR',
    });
    const replaced = (await gqlOk(server.url, SET_AVATAR, { u: second.id }, alice!.token)).setAvatar;
    expect((await download(set.avatarUrl)).status).toBe(404);
    expect((await download(replaced.avatarUrl)).status).toBe(200);
    const seen = await gqlOk(server.url, `query($u: ID!) { user(id: $u) { avatarUrl } }`, { u: alice!.id }, bob!.token);
    expect(seen.user.avatarUrl).toEqual(expect.any(String));
    const removed = (await gqlOk(server.url, SET_AVATAR, { u: null }, alice!.token)).setAvatar;
    expect(removed.avatarUrl).toBeNull();
    expect((await download(replaced.avatarUrl)).status).toBe(404);
  });

  it('limits uploads per user: a rate, and a daily byte allowance (RATE_LIMITED)', async () => {
    const limited = await startTestServer({
      config: testConfig({ UPLOAD_RATE_BURST: '2', UPLOAD_RATE_PER_SECOND: '0.01', MEDIA_DIR: dir }),
    });
    const bytes = await startTestServer({ config: testConfig({ UPLOAD_BYTES_PER_DAY: '1000', MEDIA_DIR: dir }) });
    try {
      const [a] = await signUpMany(limited.url, 1, 'rate');
      const answers = [];
      for (let i = 0; i < 3; i++)
        answers.push(await reserve(limited.url, a!.token, PDF, { contentType: 'application/pdf' }));
      expect(answers.flatMap(codes)).toEqual(['RATE_LIMITED']);
      const [b] = await signUpMany(bytes.url, 1, 'bytes');
      const declare = (n: number) => reserve(bytes.url, b!.token, Buffer.alloc(n), { contentType: 'application/pdf' });
      expect(codes(await declare(600))).toEqual([]);
      expect(codes(await declare(600))).toEqual(['RATE_LIMITED']);
      expect(codes(await declare(400))).toEqual([]);
    } finally {
      await Promise.all([limited.stop(), bytes.stop()]);
    }
  });

  it('previews a message of attachments alone in pushes', () => {
    expect(previewOf('', { kind: 'IMAGE', fileName: 'IMG_1.jpg' })).toBe('📷 Photo');
    expect(previewOf('', { kind: 'FILE', fileName: 'report.pdf' })).toBe('📎 report.pdf');
    expect(previewOf('look', { kind: 'IMAGE', fileName: 'IMG_1.jpg' })).toBe('look');
  });
});
