import { createHash, randomBytes } from 'node:crypto';
import type { MediaStore, UploadRequest } from '../../src/media/media';
import { MediaTooLargeError } from '../../src/media/media';

/** What a media backend's test file hands the suite. */
export interface MediaFixture {
  media: MediaStore;
}

/**
 * The behaviour every MediaStore must have, checked through its URLs with real HTTP requests, as a
 * client would send them. `setup` runs once per file (a server, a bucket); `nosniff`: whether the
 * backend can add X-Content-Type-Options to downloads (S3 cannot: its presigned GET overrides only
 * type and disposition).
 */
export function describeMediaStore(
  name: string,
  setup: () => { current: MediaFixture },
  { nosniff }: { nosniff: boolean },
): void {
  describe(`MediaStore conformance: ${name}`, () => {
    const fixture = setup();
    const media = () => fixture.current.media;
    let n = 0;
    const key = () => `u/tester/${Date.now().toString(36)}_${++n}_${randomBytes(4).toString('hex')}`;
    const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
    const send = (request: UploadRequest, body: Uint8Array | string, headers: Record<string, string> = {}) =>
      fetch(request.url, { method: request.method, headers: { ...request.headers, ...headers }, body });
    const upload = async (k: string, bytes: Buffer, contentType: string) => {
      const request = await media().presignUpload(k, { contentType, byteSize: bytes.length, expiresInSeconds: 60 });
      const answer = await send(request, bytes);
      expect(answer.status).toBe(200);
      return request;
    };
    /** The URL with the last character of its signature changed. */
    const tampered = (url: string) => {
      const parsed = new URL(url);
      const param = ['sig', 'X-Amz-Signature'].find((p) => parsed.searchParams.has(p))!;
      const value = parsed.searchParams.get(param)!;
      parsed.searchParams.set(param, value.slice(0, -1) + (value.endsWith('a') ? 'b' : 'a'));
      return parsed.toString();
    };

    it('takes a presigned upload of exact bytes and gives the same bytes back (head, read, download)', async () => {
      const k = key();
      const bytes = randomBytes(200_000);
      const request = await upload(k, bytes, 'image/png');
      expect(request.method).toBe('PUT');
      expect(await media().head(k)).toEqual({ byteSize: bytes.length, contentType: 'image/png' });
      expect(sha((await media().read(k, { maxBytes: bytes.length }))!)).toBe(sha(bytes));
      const url = await media().presignDownload(k, {
        expiresInSeconds: 60,
        contentType: 'image/png',
        fileName: 'photo.png',
        inline: true,
      });
      const answer = await fetch(url);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe('image/png');
      expect(answer.headers.get('content-disposition')).toMatch(/^inline; filename="photo\.png"/);
      expect(sha(new Uint8Array(await answer.arrayBuffer()))).toBe(sha(bytes));
    });

    it('refuses an upload of any other size than the signed one, and stores nothing', async () => {
      const k = key();
      const request = await media().presignUpload(k, { contentType: 'image/png', byteSize: 10, expiresInSeconds: 60 });
      for (const body of [randomBytes(11), randomBytes(9), Buffer.alloc(0)]) {
        const answer = await send(request, body);
        expect(answer.status).toBeGreaterThanOrEqual(400);
      }
      expect(await media().head(k)).toBeNull();
      expect((await send(request, randomBytes(10))).status).toBe(200);
    });

    it('refuses an upload with another Content-Type than the signed one', async () => {
      const k = key();
      const request = await media().presignUpload(k, { contentType: 'image/png', byteSize: 4, expiresInSeconds: 60 });
      const answer = await send(request, 'abcd', { 'content-type': 'text/html' });
      expect(answer.status).toBe(403);
      expect(await media().head(k)).toBeNull();
    });

    it('refuses a tampered signature, for an upload and for a download', async () => {
      const k = key();
      const request = await media().presignUpload(k, { contentType: 'text/plain', byteSize: 4, expiresInSeconds: 60 });
      expect((await send({ ...request, url: tampered(request.url) }, 'abcd')).status).toBe(403);
      expect(await media().head(k)).toBeNull();
      await send(request, 'abcd');
      const url = await media().presignDownload(k, { expiresInSeconds: 60, contentType: 'text/plain' });
      expect((await fetch(tampered(url))).status).toBe(403);
      expect((await fetch(url)).status).toBe(200);
    });

    it('lets no URL write a key it was not signed for', async () => {
      const [granted, other] = [key(), key()];
      const request = await media().presignUpload(granted, {
        contentType: 'text/plain',
        byteSize: 4,
        expiresInSeconds: 60,
      });
      const url = request.url.replace(granted, other);
      expect(url).not.toBe(request.url);
      expect((await send({ ...request, url }, 'abcd')).status).toBe(403);
      expect(await media().head(other)).toBeNull();
    });

    it('takes one upload per URL: a second one, while the object exists, is refused', async () => {
      const k = key();
      const request = await upload(k, Buffer.from('first'), 'text/plain');
      const again = await send(request, 'other');
      expect(again.status).toBeGreaterThanOrEqual(400);
      // Nor by a client that leaves out the headers it was told to send, but for the type.
      const bare = await fetch(request.url, {
        method: 'PUT',
        headers: { 'content-type': 'text/plain' },
        body: 'other',
      });
      expect(bare.status).toBeGreaterThanOrEqual(400);
      expect((await media().read(k, { maxBytes: 100 }))!.toString()).toBe('first');
    });

    it('refuses an expired URL, for an upload and for a download', async () => {
      const [k, stored] = [key(), key()];
      await media().put(stored, Buffer.from('kept'), 'text/plain');
      const request = await media().presignUpload(k, { contentType: 'text/plain', byteSize: 4, expiresInSeconds: 1 });
      const url = await media().presignDownload(stored, { expiresInSeconds: 1, contentType: 'text/plain' });
      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect((await send(request, 'abcd')).status).toBe(403);
      expect(await media().head(k)).toBeNull();
      expect((await fetch(url)).status).toBe(403);
    });

    it('serves HTML and SVG as attachments of type application/octet-stream, even when asked to show them', async () => {
      const html = Buffer.from('<html><script>alert(document.cookie)</script></html>');
      for (const [k, type, fileName] of [
        [key(), 'text/html', 'page.html'],
        [key(), 'image/svg+xml', 'image.svg'],
      ] as const) {
        await upload(k, html, type);
        const url = await media().presignDownload(k, {
          expiresInSeconds: 60,
          contentType: type,
          fileName,
          inline: true,
        });
        const answer = await fetch(url);
        expect(answer.status).toBe(200);
        expect(answer.headers.get('content-type')).toBe('application/octet-stream');
        expect(answer.headers.get('content-disposition')).toMatch(new RegExp(`^attachment; filename="${fileName}"`));
        if (nosniff) expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
        expect(Buffer.from(await answer.arrayBuffer()).equals(html)).toBe(true);
      }
    });

    it('reads within a bound only, and answers null for a key with no object', async () => {
      const k = key();
      await media().put(k, randomBytes(1000), 'application/pdf');
      await expect(media().read(k, { maxBytes: 999 })).rejects.toBeInstanceOf(MediaTooLargeError);
      expect((await media().read(k, { maxBytes: 1000 }))!.length).toBe(1000);
      expect(await media().read(key(), { maxBytes: 10 })).toBeNull();
      expect(await media().head(key())).toBeNull();
    });

    it('reads the start of an object (to sniff its type) without reading the rest', async () => {
      const k = key();
      const bytes = randomBytes(5000);
      await media().put(k, bytes, 'application/octet-stream');
      expect((await media().readStart(k, 64))!.equals(bytes.subarray(0, 64))).toBe(true);
      expect((await media().readStart(k, 9000))!.equals(bytes)).toBe(true);
      const empty = key();
      await media().put(empty, Buffer.alloc(0), 'application/octet-stream');
      expect((await media().readStart(empty, 64))!.length).toBe(0);
      expect(await media().readStart(key(), 64)).toBeNull();
    });

    it('puts (replacing) and deletes; a deleted object is gone from head, read and its download URL', async () => {
      const [a, b] = [key(), key()];
      await media().put(a, Buffer.from('one'), 'text/plain');
      await media().put(a, Buffer.from('three'), 'image/jpeg');
      expect(await media().head(a)).toEqual({ byteSize: 5, contentType: 'image/jpeg' });
      await media().put(b, Buffer.from('two'), 'text/plain');
      const url = await media().presignDownload(a, { expiresInSeconds: 60, contentType: 'image/jpeg' });
      await media().delete([a, b, key()]);
      expect(await media().head(a)).toBeNull();
      expect(await media().head(b)).toBeNull();
      expect(await media().read(a, { maxBytes: 10 })).toBeNull();
      expect((await fetch(url)).status).toBe(404);
    });

    /** `count` chunks of `size` random bytes, then (with `failure`) an error instead of the end. */
    async function* chunks(count: number, size: number, seen: Buffer[], failure?: Error) {
      for (let i = 0; i < count; i++) {
        const chunk = randomBytes(size);
        seen.push(chunk);
        yield chunk;
      }
      if (failure) throw failure;
    }

    it('stores a stream, small (one request) or of several parts, replacing what was there', async () => {
      const k = key();
      await media().put(k, Buffer.from('old'), 'text/plain');
      const small: Buffer[] = [];
      expect(await media().putStream(k, chunks(3, 1000, small), 'application/json')).toBe(3000);
      expect(sha((await media().read(k, { maxBytes: 3000 }))!)).toBe(sha(Buffer.concat(small)));
      // Past two parts of 8 MiB on S3, in chunks that do not add up to a part exactly.
      const large: Buffer[] = [];
      const size = 170 * 64 * 1024;
      expect(await media().putStream(k, chunks(170, 64 * 1024 + 7, large), 'application/json')).toBe(size + 170 * 7);
      expect(await media().head(k)).toEqual({ byteSize: size + 170 * 7, contentType: 'application/json' });
      expect(sha((await media().read(k, { maxBytes: 2 * size }))!)).toBe(sha(Buffer.concat(large)));
    });

    it('stores nothing of a stream that fails, after a part or before', async () => {
      for (const count of [2, 140]) {
        const k = key();
        const failure = new Error('the source failed');
        await expect(media().putStream(k, chunks(count, 64 * 1024, [], failure), 'application/json')).rejects.toBe(
          failure,
        );
        expect(await media().head(k)).toBeNull();
      }
    });

    it('refuses keys the server would never make', async () => {
      for (const bad of ['../etc/passwd', 'u/a/../../b', '/abs', 'u//x', 'u/x.html', '']) {
        await expect(media().head(bad)).rejects.toThrow(/not a media key/);
        await expect(
          media().presignUpload(bad, { contentType: 'text/plain', byteSize: 1, expiresInSeconds: 60 }),
        ).rejects.toThrow(/not a media key/);
      }
    });
  });
}
