/**
 * Image processing with sharp (libvips): what the server makes of an uploaded image before
 * anyone downloads it. Every image is decoded with a pixel limit checked before decoding, turned
 * upright (EXIF orientation applied) and re-encoded in its own format with no metadata at all
 * (EXIF, GPS, XMP, ICC comments), so nothing the camera wrote leaves the server; a small WebP
 * preview is made at the same time.
 */
import sharp from 'sharp';

// Outputs are written once and dropped: libvips's operation cache would only hold memory.
sharp.cache(false);

/** An image that cannot be accepted: not decodable, truncated, or past the pixel limit. */
export class ImageRejectedError extends Error {
  constructor(why: string) {
    super(why);
    this.name = 'ImageRejectedError';
  }
}

/** Options of `processImage`. */
export interface ImageOptions {
  /** The most pixels (width × height, of every frame together) an image may have. */
  maxPixels: number;
  /** The longer side of the preview, in pixels. */
  thumbnailSize: number;
}

/** An image as it is stored and served. */
export interface ProcessedImage {
  /** The re-encoded image, upright and without metadata. */
  bytes: Buffer;
  contentType: string;
  width: number;
  height: number;
  /** A WebP at most `thumbnailSize` on its longer side. */
  thumbnail: Buffer;
  thumbnailWidth: number;
  thumbnailHeight: number;
}

/** Formats an image is re-encoded in, by the type sniffed from its bytes. */
const ENCODERS: Record<string, (image: sharp.Sharp) => sharp.Sharp> = {
  'image/jpeg': (image) => image.jpeg({ quality: 88 }),
  'image/png': (image) => image.png(),
  'image/gif': (image) => image.gif(),
  'image/webp': (image) => image.webp({ quality: 88 }),
  'image/avif': (image) => image.avif({ effort: 2 }),
};

/** Whether `processImage` can take images of this (sniffed) type. */
export function isProcessable(contentType: string): boolean {
  return contentType in ENCODERS;
}

/** The decoder for `bytes`: pixel limit, every warning an error (a truncated file is refused). */
function decoder(bytes: Buffer, maxPixels: number, animated: boolean): sharp.Sharp {
  return sharp(bytes, { limitInputPixels: maxPixels, failOn: 'warning', animated });
}

/** Checks the header's dimensions against the limit before anything is decoded. */
async function checkedHeader(bytes: Buffer, maxPixels: number): Promise<sharp.Metadata> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new ImageRejectedError('the file is not an image that can be read');
  }
  const frames = meta.pages ?? 1;
  const frameHeight = meta.pageHeight ?? meta.height;
  if (!meta.width || !frameHeight) throw new ImageRejectedError('the image has no dimensions');
  if (meta.width * frameHeight * frames > maxPixels) {
    throw new ImageRejectedError(`the image is larger than ${maxPixels / 1_000_000} megapixels`);
  }
  return meta;
}

/** Runs a sharp pipeline; a decoding failure is the image's fault, not the server's. */
async function render(pipeline: sharp.Sharp): Promise<{ data: Buffer; info: sharp.OutputInfo }> {
  try {
    return await pipeline.toBuffer({ resolveWithObject: true });
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : 'unreadable';
    throw new ImageRejectedError(`the image cannot be decoded (${why})`);
  }
}

/** Re-encodes an image of the sniffed `contentType` and makes its preview; ImageRejectedError when it cannot. */
export async function processImage(bytes: Buffer, contentType: string, options: ImageOptions): Promise<ProcessedImage> {
  const encode = ENCODERS[contentType];
  if (!encode) throw new ImageRejectedError(`${contentType} images cannot be processed`);
  const meta = await checkedHeader(bytes, options.maxPixels);
  const animated = (meta.pages ?? 1) > 1;
  const image = await render(encode(decoder(bytes, options.maxPixels, animated).rotate()));
  const thumbnail = await render(
    decoder(bytes, options.maxPixels, false)
      .rotate()
      .resize(options.thumbnailSize, options.thumbnailSize, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 }),
  );
  return {
    bytes: image.data,
    contentType,
    width: image.info.width,
    height: image.info.pageHeight ?? image.info.height,
    thumbnail: thumbnail.data,
    thumbnailWidth: thumbnail.info.width,
    thumbnailHeight: thumbnail.info.height,
  };
}

/** A square WebP of `size` pixels cut from the middle of an image (an avatar), upright and without metadata. */
export async function squareImage(bytes: Buffer, size: number, maxPixels: number): Promise<Buffer> {
  await checkedHeader(bytes, maxPixels);
  const square = await render(
    decoder(bytes, maxPixels, false).rotate().resize(size, size, { fit: 'cover' }).webp({ quality: 85 }),
  );
  return square.data;
}
