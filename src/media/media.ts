/**
 * Media blobs (images, files a user sends) kept outside the store: clients upload and download
 * them directly, through short-lived signed URLs this server hands out, and the server reads them
 * back only for checks and processing (thumbnails), bounded.
 *
 * One implementation per backend (local.ts: a directory served by this server; s3.ts: any
 * S3-compatible service), both held to the same conformance suite (test/backends/media.conformance.ts).
 * Keys are chosen by the server (`newMediaKey`), never by a client: a signed URL grants exactly one key.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a client must send to upload: the request as-is, with exactly `byteSize` bytes as its body. */
export interface UploadRequest {
  url: string;
  method: 'PUT';
  /** Headers the client must send unchanged (they are part of the signature). */
  headers: Record<string, string>;
}

/** Options of `presignUpload`. */
export interface UploadOptions {
  /** The type the object is stored with; the upload must send it as its Content-Type. */
  contentType: string;
  /** The exact size of the upload in bytes: a body of any other size is refused. */
  byteSize: number;
  /** How long the URL may be used to start the upload. */
  expiresInSeconds: number;
}

/** Options of `presignDownload`. */
export interface DownloadOptions {
  expiresInSeconds: number;
  /** The name a browser saves the file under. @default the last part of the key */
  fileName?: string;
  /** The object's type, as the client declared it at upload. */
  contentType: string;
  /**
   * Ask for the file to be shown rather than saved. Honoured only for types a browser renders
   * without running anything (`isInlineSafe`); everything else is served as an attachment of
   * type application/octet-stream. @default false
   */
  inline?: boolean;
}

/** What `head` knows of a stored object. */
export interface MediaObject {
  byteSize: number;
  contentType: string;
}

/** A read found the object larger than the reader allowed. */
export class MediaTooLargeError extends Error {
  constructor(
    readonly key: string,
    readonly maxBytes: number,
  ) {
    super(`media object ${key} is larger than ${maxBytes} bytes`);
    this.name = 'MediaTooLargeError';
  }
}

/** Where media blobs live. */
export interface MediaStore {
  /** A one-time upload of exactly `byteSize` bytes to `key`, valid for `expiresInSeconds`. */
  presignUpload(key: string, options: UploadOptions): Promise<UploadRequest>;
  /** A URL from which `key` can be downloaded (GET) until it expires, with safe response headers. */
  presignDownload(key: string, options: DownloadOptions): Promise<string>;
  /** The object's size and type, or null when there is none. */
  head(key: string): Promise<MediaObject | null>;
  /** The object's bytes, or null when there is none; MediaTooLargeError past `maxBytes`. */
  read(key: string, options: { maxBytes: number }): Promise<Buffer | null>;
  /** The object's first `length` bytes (all of them when it is shorter), or null when there is none. */
  readStart(key: string, length: number): Promise<Buffer | null>;
  /** Stores `bytes` under `key` (the server's own outputs, e.g. thumbnails), replacing any. */
  put(key: string, bytes: Buffer, contentType: string): Promise<void>;
  /**
   * Stores what `body` yields under `key` as it comes, replacing any, holding a bounded part of it
   * at a time (the server's own large outputs: data exports); the bytes stored. When `body` fails,
   * the error is thrown and nothing is stored.
   */
  putStream(key: string, body: AsyncIterable<Uint8Array>, contentType: string): Promise<number>;
  /** Removes the objects; keys with no object are ignored. */
  delete(keys: readonly string[]): Promise<void>;
  /**
   * Set when this server itself answers the URLs (the local directory): the handler to mount at
   * MEDIA_PATH, and where clients reach it. Absent when clients talk to the storage service directly.
   */
  readonly served?: ServedMedia;
}

/** The HTTP side of a store whose URLs point at this server. */
export interface ServedMedia {
  /** Answers signed PUT and GET requests for paths under MEDIA_PATH (mounted there, so `req.url` is the rest). */
  handle(request: IncomingMessage, response: ServerResponse): void;
  /** The origin clients reach this server at (e.g. https://chat.example.com); URLs are built on it. */
  setOrigin(origin: string): void;
}

/** Where a served store is mounted on this server. */
export const MEDIA_PATH = '/media';

/**
 * Keys are segments of letters, digits, `_` and `-` joined by `/`: no dots, so no `..`, no hidden
 * files and no clash with a store's own suffixes; safe unescaped in a URL path and as a file path.
 */
export function isMediaKey(key: string): boolean {
  return key.length <= 512 && /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(key);
}

/** A fresh key for something `userId` uploads: `u/<userId>/<128 random bits>`. */
export function newMediaKey(userId: string): string {
  const owner = userId.replace(/[^A-Za-z0-9_-]/g, '_');
  return `u/${owner}/${randomBytes(16).toString('base64url')}`;
}

/**
 * Types a browser may show inline: images, audio and video it renders without running anything.
 * SVG is an image that can carry script, so it is not among them.
 */
export function isInlineSafe(contentType: string): boolean {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return /^(image|audio|video)\/[a-z0-9.+-]+$/.test(type) && type !== 'image/svg+xml';
}

/** The Content-Type and Content-Disposition a download is served with. */
export function downloadHeaders(key: string, options: DownloadOptions): { type: string; disposition: string } {
  const inline = options.inline === true && isInlineSafe(options.contentType);
  const name = options.fileName ?? key.slice(key.lastIndexOf('/') + 1);
  // An ASCII fallback for old clients, and the exact name in RFC 5987 form.
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const disposition = `${inline ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${rfc5987(name)}`;
  return { type: inline ? options.contentType : 'application/octet-stream', disposition };
}

/** `value` percent-encoded as RFC 5987 wants it (encodeURIComponent leaves ' ( ) * as they are). */
function rfc5987(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Refuses a key a store should never see (the server makes keys; this guards against its own mistakes). */
export function checkMediaKey(key: string): void {
  if (!isMediaKey(key)) throw new Error(`not a media key: ${JSON.stringify(key)}`);
}
