/**
 * What a file is, from its first bytes (magic numbers), never from its name or declared type.
 * Only types with an unmistakable signature are recognised; everything else is
 * application/octet-stream, served as a download. Text formats (HTML, SVG, scripts) have no
 * signature and so are never recognised as anything a browser would render.
 */

/** What the bytes were recognised as. */
export interface Sniffed {
  contentType: string;
  kind: 'IMAGE' | 'VIDEO' | 'AUDIO' | 'FILE';
}

/** Bytes `sniff` needs at most. */
export const SNIFF_BYTES = 64;

const OCTET_STREAM: Sniffed = { contentType: 'application/octet-stream', kind: 'FILE' };

const startsWith = (bytes: Buffer, signature: readonly number[], offset = 0) =>
  bytes.length >= offset + signature.length && signature.every((b, i) => bytes[offset + i] === b);
const ascii = (bytes: Buffer, start: number, end: number) => bytes.subarray(start, end).toString('latin1');

/** ISO base media (MP4, QuickTime, M4A, AVIF): the major brand of the leading `ftyp` box. */
function isoBrand(bytes: Buffer): string | null {
  return bytes.length >= 12 && ascii(bytes, 4, 8) === 'ftyp' ? ascii(bytes, 8, 12) : null;
}

const image = (contentType: string): Sniffed => ({ contentType, kind: 'IMAGE' });
const video = (contentType: string): Sniffed => ({ contentType, kind: 'VIDEO' });
const audio = (contentType: string): Sniffed => ({ contentType, kind: 'AUDIO' });

/** The type of a file whose first bytes (at least SNIFF_BYTES of them, when it has that many) are `bytes`. */
export function sniff(bytes: Buffer): Sniffed {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return image('image/jpeg');
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return image('image/png');
  const head6 = ascii(bytes, 0, 6);
  if (head6 === 'GIF87a' || head6 === 'GIF89a') return image('image/gif');
  if (ascii(bytes, 0, 4) === 'RIFF') {
    const form = ascii(bytes, 8, 12);
    if (form === 'WEBP') return image('image/webp');
    if (form === 'WAVE') return audio('audio/wav');
    return OCTET_STREAM;
  }
  const brand = isoBrand(bytes);
  if (brand !== null) {
    if (brand === 'avif' || brand === 'avis') return image('image/avif');
    if (brand === 'qt  ') return video('video/quicktime');
    if (brand === 'M4A ' || brand === 'M4B ') return audio('audio/mp4');
    if (/^(isom|iso[2-9]|mp41|mp42|avc1|dash|M4V |mmp4|3gp\d|3g2\w)$/.test(brand)) return video('video/mp4');
    // HEIC and other ISO files: sharp as shipped cannot decode HEIC, so they are plain files.
    return OCTET_STREAM;
  }
  if (startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) {
    // EBML: WebM names its doc type in the header; other Matroska files are plain files.
    return bytes.subarray(0, SNIFF_BYTES).includes('webm', 0, 'latin1') ? video('video/webm') : OCTET_STREAM;
  }
  if (ascii(bytes, 0, 4) === 'OggS') return audio('audio/ogg');
  if (ascii(bytes, 0, 3) === 'ID3') return audio('audio/mpeg');
  // An MPEG audio frame header: 11 sync bits, then layer bits that are not 00.
  if (bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0 && (bytes[1]! & 0x06) !== 0) {
    return audio('audio/mpeg');
  }
  if (ascii(bytes, 0, 5) === '%PDF-') return { contentType: 'application/pdf', kind: 'FILE' };
  return OCTET_STREAM;
}

/** Declared types that name the same thing as a sniffed one. */
const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'audio/mp3': 'audio/mpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/x-m4a': 'audio/mp4',
  'audio/m4a': 'audio/mp4',
  'audio/x-mpeg': 'audio/mpeg',
  'video/ogg': 'audio/ogg',
  'application/ogg': 'audio/ogg',
  'application/x-pdf': 'application/pdf',
};

/** Every type `sniff` can answer besides application/octet-stream. */
const RECOGNISED = new Set([
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
  'image/avif',
  'video/mp4',
  'video/quicktime',
  'video/webm',
  'audio/mp4',
  'audio/mpeg',
  'audio/ogg',
  'audio/wav',
  'application/pdf',
]);

/** A MIME type without parameters, lowercase, with aliases resolved. */
export function normalType(contentType: string): string {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return ALIASES[type] ?? type;
}

/** Whether `declared` is a type `sniff` recognises (so the bytes must turn out to be that). */
export function isRecognisedType(declared: string): boolean {
  return RECOGNISED.has(normalType(declared));
}

/**
 * Whether the sniffed type agrees with the declared one: a recognised type must be found as
 * declared (an M4A may be declared as video/mp4 and the reverse); anything else declared must be
 * nothing recognised (a PNG declared as text/plain is a mismatch, not a file).
 */
export function matchesDeclared(declared: string, sniffed: Sniffed): boolean {
  const type = normalType(declared);
  const expected = RECOGNISED.has(type) ? type : OCTET_STREAM.contentType;
  if (expected === sniffed.contentType) return true;
  const mp4 = new Set(['video/mp4', 'audio/mp4']);
  return mp4.has(expected) && mp4.has(sniffed.contentType);
}
