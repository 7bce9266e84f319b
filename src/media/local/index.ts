/**
 * The embedded default media store: a directory on this machine, its uploads and downloads
 * answered by this server (http.ts) under URLs signed with HMAC-SHA256 that expire, bind the
 * method, the key and, for an upload, the exact size and type, as S3's presigned URLs do.
 * One process only: several processes would each have their own directory.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { signFields } from '../../lib/signedUrl';
import { checkMediaKey, downloadHeaders, MEDIA_PATH, MediaTooLargeError, type MediaStore } from '../media';
import { ensureLayout, pathsOf, privateStaging, publish, removeDir, statObject, writeMeta } from './files';
import { createMediaHandler, downloadFields, uploadFields } from './http';

/** Options of `createLocalMediaStore`. */
export interface LocalMediaOptions {
  /** The directory objects are kept in; created at the first write. */
  dir: string;
  /** The key URLs are signed with (MEDIA_SECRET, or one derived from JWT_SECRET). */
  secret: string;
  /**
   * Where clients reach this server, e.g. https://chat.example.com (MEDIA_PUBLIC_URL).
   * @default set by startServer once it listens: http://<host>:<port>
   */
  origin?: string;
  /** The clock, in milliseconds. @default Date.now */
  now?: () => number;
}

/** A media store in a local directory, served by this server at MEDIA_PATH. */
export function createLocalMediaStore(options: LocalMediaOptions): MediaStore {
  const { dir, secret } = options;
  const now = options.now ?? Date.now;
  let origin = options.origin?.replace(/\/+$/, '');
  const expiry = (seconds: number) => String(Math.floor(now() / 1000) + seconds);
  const urlOf = (key: string, query: Record<string, string>) => {
    if (origin === undefined) throw new Error('the local media store has no origin yet: the server is not listening');
    return `${origin}${MEDIA_PATH}/${key}?${new URLSearchParams(query)}`;
  };
  /** Writes the object's data with `write` in a staging directory of its own, then moves it in place of any. */
  const replace = async (key: string, contentType: string, write: (dataPath: string) => Promise<void>) => {
    checkMediaKey(key);
    const paths = pathsOf(dir, key);
    await ensureLayout(dir);
    const staging = privateStaging(dir, key);
    try {
      await mkdir(staging);
      await write(join(staging, 'data'));
      await writeMeta(staging, contentType);
      // Replacing: the old object goes first (a reader in between finds none, never half of one).
      while (!(await publish(staging, paths.object))) await removeDir(paths.object);
    } finally {
      await removeDir(staging);
    }
  };
  return {
    async presignUpload(key, { contentType, byteSize, expiresInSeconds }) {
      checkMediaKey(key);
      const [size, exp] = [String(byteSize), expiry(expiresInSeconds)];
      const sig = signFields(secret, uploadFields(key, size, contentType, exp));
      return {
        url: urlOf(key, { size, type: contentType, exp, sig }),
        method: 'PUT',
        headers: { 'content-type': contentType },
      };
    },
    async presignDownload(key, download) {
      checkMediaKey(key);
      const { type, disposition } = downloadHeaders(key, download);
      const exp = expiry(download.expiresInSeconds);
      const sig = signFields(secret, downloadFields(key, type, disposition, exp));
      return urlOf(key, { rt: type, rd: disposition, exp, sig });
    },
    async head(key) {
      checkMediaKey(key);
      return statObject(pathsOf(dir, key));
    },
    async read(key, { maxBytes }) {
      checkMediaKey(key);
      let file;
      try {
        file = await open(pathsOf(dir, key).data, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      try {
        if ((await file.stat()).size > maxBytes) throw new MediaTooLargeError(key, maxBytes);
        return await readFile(file);
      } finally {
        await file.close();
      }
    },
    async readStart(key, length) {
      checkMediaKey(key);
      let file;
      try {
        file = await open(pathsOf(dir, key).data, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      try {
        const buffer = Buffer.alloc(Math.max(0, length));
        const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
        return buffer.subarray(0, bytesRead);
      } finally {
        await file.close();
      }
    },
    async put(key, bytes, contentType) {
      await replace(key, contentType, (data) => writeFile(data, bytes));
    },
    async putStream(key, body, contentType) {
      let size = 0;
      await replace(key, contentType, async (data) => {
        await pipeline(body, createWriteStream(data, { flags: 'wx' }));
        size = (await stat(data)).size;
      });
      return size;
    },
    async delete(keys) {
      keys.forEach(checkMediaKey);
      await Promise.all(keys.map((key) => removeDir(pathsOf(dir, key).object)));
    },
    served: {
      handle: createMediaHandler({ dir, secret, now }),
      setOrigin(value) {
        origin ??= value.replace(/\/+$/, '');
      },
    },
  };
}
