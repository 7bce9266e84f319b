/**
 * The HTTP side of the local directory: this server answers the URLs `createLocalMediaStore` signs.
 * PUT `<key>?size&type&exp&sig` stores exactly `size` bytes once; GET `<key>?rt&rd&exp&sig` serves
 * them with the signed type and disposition and headers that keep a browser from running them.
 * Refusals answer as S3 does: 403 for a signature or an expiry, 409 for a key already written.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isSignatureOf } from '../../lib/signedUrl';
import { isMediaKey } from '../media';
import { ensureLayout, pathsOf, publish, removeDir, statObject, writeMeta } from './files';

/** The fields a PUT URL signs, in order. */
export function uploadFields(key: string, size: string, type: string, exp: string): string[] {
  return ['PUT', key, size, type, exp];
}

/** The fields a GET URL signs, in order. */
export function downloadFields(key: string, responseType: string, disposition: string, exp: string): string[] {
  return ['GET', key, responseType, disposition, exp];
}

/** What the handler needs: the directory, the signing secret and the clock. */
export interface MediaHandlerOptions {
  dir: string;
  secret: string;
  now: () => number;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A request of a URL `createLocalMediaStore` signed, answered. */
export function createMediaHandler(options: MediaHandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const answer = req.method === 'PUT' ? upload(options, req, res) : download(options, req, res);
    answer.catch((error: unknown) => {
      const refusal = error instanceof Refusal ? error : new Refusal(500, 'The media request failed.');
      if (res.headersSent) return void res.destroy();
      // A refused upload's body is not read: close the connection rather than take it.
      if (req.method === 'PUT' && !req.complete) res.setHeader('connection', 'close');
      res.writeHead(refusal.status, {
        'content-type': 'text/plain; charset=utf-8',
        'x-content-type-options': 'nosniff',
      });
      res.end(refusal.message);
    });
  };
}

/** The key and query of a signed URL whose signature over `fields(key, query)` holds and has not expired. */
function verified(
  options: MediaHandlerOptions,
  req: IncomingMessage,
  names: string[],
  fields: (key: string, values: string[]) => string[],
): { key: string; values: string[] } {
  const url = new URL(req.url ?? '/', 'http://media');
  const key = url.pathname.slice(1);
  const values = names.map((name) => url.searchParams.get(name));
  const exp = url.searchParams.get('exp');
  const sig = url.searchParams.get('sig');
  if (!isMediaKey(key) || values.some((v) => v === null) || exp === null || sig === null) {
    throw new Refusal(403, 'The media URL is not a signed URL of this server.');
  }
  if (!isSignatureOf(options.secret, fields(key, [...(values as string[]), exp]), sig)) {
    throw new Refusal(403, 'The media URL signature does not match.');
  }
  if (!/^\d+$/.test(exp) || Number(exp) * 1000 < options.now()) throw new Refusal(403, 'The media URL has expired.');
  return { key, values: values as string[] };
}

async function upload(options: MediaHandlerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { key, values } = verified(options, req, ['size', 'type'], (k, [size, type, exp]) =>
    uploadFields(k, size!, type!, exp!),
  );
  const [size, type] = [Number(values[0]), values[1]!];
  if (req.headers['content-type'] !== type) throw new Refusal(403, 'The Content-Type is not the one signed.');
  if (req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] === undefined) {
    throw new Refusal(411, 'An upload needs a Content-Length.');
  }
  if (Number(req.headers['content-length']) !== size)
    throw new Refusal(403, 'The Content-Length is not the one signed.');
  const paths = pathsOf(options.dir, key);
  if ((await statObject(paths)) !== null) throw new Refusal(409, 'This media URL has been used.');
  await ensureLayout(options.dir);
  try {
    // The slot is held by the one upload that created it; a second one at once is refused.
    await mkdir(paths.uploadSlot);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new Refusal(409, 'An upload to this URL is under way.');
    throw error;
  }
  try {
    let received = 0;
    const bounded = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        done(received > size ? new Refusal(403, 'The body is longer than the signed size.') : null, chunk);
      },
    });
    await pipeline(req, bounded, createWriteStream(join(paths.uploadSlot, 'data'), { flags: 'wx' }));
    if (received !== size) throw new Refusal(400, 'The body is shorter than the signed size.');
    await writeMeta(paths.uploadSlot, type);
    if (!(await publish(paths.uploadSlot, paths.object))) throw new Refusal(409, 'This media URL has been used.');
  } finally {
    await removeDir(paths.uploadSlot);
  }
  res.writeHead(200, { 'content-length': '0' }).end();
}

async function download(options: MediaHandlerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET') throw new Refusal(405, 'Media URLs answer GET and PUT only.');
  const { key, values } = verified(options, req, ['rt', 'rd'], (k, [rt, rd, exp]) => downloadFields(k, rt!, rd!, exp!));
  const [responseType, disposition] = values as [string, string];
  let file;
  try {
    file = await open(pathsOf(options.dir, key).data, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Refusal(404, 'There is no such media object.');
    throw error;
  }
  try {
    const { size } = await file.stat();
    res.writeHead(200, {
      'content-type': responseType,
      'content-disposition': disposition,
      'content-length': String(size),
      // Never sniffed into something runnable, and run in a sandbox should a browser try anyway.
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
      'cache-control': 'private, no-transform',
    });
    await pipeline(file.createReadStream({ autoClose: false }), res);
  } finally {
    await file.close();
  }
}
