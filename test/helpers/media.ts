/** Uploads as a client makes them, and the files the media tests send. */
import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { gql, gqlOk, type GraphQLResponse } from './client';

export const CREATE_UPLOAD = `mutation($i: CreateUploadInput!) {
  createUpload(input: $i) { id url method headers { name value } formFields { name value } expiresAt }
}`;
export const ATTACHMENT_FIELDS = 'id kind fileName contentType byteSize width height url thumbnailUrl urlExpiresAt';
export const COMPLETE_UPLOAD = `mutation($u: ID!) { completeUpload(uploadId: $u) { ${ATTACHMENT_FIELDS} } }`;
export const SEND_WITH = `mutation($c: ID!, $t: String!, $a: [ID!], $k: String) {
  sendMessage(conversationId: $c, content: $t, attachmentIds: $a, clientMessageId: $k) {
    id content attachments { ${ATTACHMENT_FIELDS} }
  }
}`;
export const SET_AVATAR = 'mutation($u: ID) { setAvatar(uploadId: $u) { id avatarUrl } }';

/** What a client declares for an upload. */
export interface Declaration {
  fileName?: string;
  contentType: string;
  purpose?: 'ATTACHMENT' | 'AVATAR';
  /** @default the length of the bytes */
  byteSize?: number;
}

/** A reserved upload as createUpload answers it. */
export interface ReservedUpload {
  id: string;
  url: string;
  method: string;
  headers: { name: string; value: string }[];
  expiresAt: string;
}

/** createUpload, answered as it is (errors included). */
export function reserve(url: string, token: string, bytes: Buffer, d: Declaration): Promise<GraphQLResponse<any>> {
  return gql(
    url,
    CREATE_UPLOAD,
    {
      i: {
        purpose: d.purpose ?? 'ATTACHMENT',
        fileName: d.fileName ?? 'file.bin',
        contentType: d.contentType,
        byteSize: d.byteSize ?? bytes.length,
      },
    },
    token,
  );
}

/** Sends `body` as the upload tells; the HTTP status. */
export async function put(upload: ReservedUpload, body: Buffer): Promise<number> {
  const res = await fetch(upload.url, {
    method: upload.method,
    headers: Object.fromEntries(upload.headers.map((h) => [h.name, h.value])),
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

/** createUpload, the PUT, completeUpload: the completeUpload response as it is. */
export async function uploadFile(
  url: string,
  token: string,
  bytes: Buffer,
  d: Declaration,
): Promise<{ upload: ReservedUpload; complete: GraphQLResponse<any> }> {
  const upload = (
    await gqlOk(
      url,
      CREATE_UPLOAD,
      {
        i: {
          purpose: d.purpose ?? 'ATTACHMENT',
          fileName: d.fileName ?? 'file.bin',
          contentType: d.contentType,
          byteSize: d.byteSize ?? bytes.length,
        },
      },
      token,
    )
  ).createUpload as ReservedUpload;
  const status = await put(upload, bytes);
  if (status !== 200) throw new Error(`upload PUT answered ${status}`);
  return { upload, complete: await gql(url, COMPLETE_UPLOAD, { u: upload.id }, token) };
}

/** Like uploadFile, failing on any error; the attachment. */
export async function uploadOk(url: string, token: string, bytes: Buffer, d: Declaration): Promise<any> {
  const { complete } = await uploadFile(url, token, bytes, d);
  if (complete.errors?.length) throw new Error(`completeUpload failed: ${JSON.stringify(complete.errors)}`);
  return complete.data!.completeUpload;
}

/** GETs a URL; its status, headers and bytes. */
export async function download(url: string): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A JPEG photo of `width` × `height` with EXIF GPS coordinates and an orientation of 6 (turned 90°). */
export function jpegWithGps(width = 400, height = 300): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 60 } } })
    .jpeg()
    .withExif({
      IFD0: { Make: 'TestCam', Model: 'GPS-1' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '48/1 51/1 2949/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '2/1 17/1 4000/100',
      },
    })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

/** Whether EXIF data holds a GPS pointer (tag 0x8825, in either byte order). */
export function hasGps(exif: Buffer | undefined): boolean {
  return exif !== undefined && (exif.includes(Buffer.from([0x25, 0x88])) || exif.includes(Buffer.from([0x88, 0x25])));
}

/** A small PNG. */
export function png(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 0, g: 120, b: 255, alpha: 1 } } })
    .png()
    .toBuffer();
}

/** CRC-32 as PNG chunks use it. */
function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A decompression bomb: a valid 1-bit grey PNG of `side` × `side` pixels (20,000² = 400
 * megapixels) whose rows are all zeros, so that it is a few tens of kilobytes.
 */
export function pngBomb(side = 20_000): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // greyscale
  const rowBytes = 1 + Math.ceil(side / 8);
  const pixels = deflateSync(Buffer.alloc(rowBytes * side), { level: 9 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', pixels),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
