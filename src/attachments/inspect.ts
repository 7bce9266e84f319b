/**
 * What completeUpload does with the bytes that arrived: checks them against the declaration
 * (size; type sniffed from the bytes) and, for an image, stores its re-encoded copy and preview.
 */
import { limits } from '../contract/limits';
import { ImageRejectedError, isProcessable, processImage } from '../media/images';
import type { MediaStore } from '../media/media';
import { matchesDeclared, sniff, SNIFF_BYTES } from '../media/sniff';
import type { ConcurrencyLimit } from '../lib/concurrency';
import type { UploadCompletion, UploadRecord } from '../store/store';
import { imageKeyOf, thumbnailKeyOf } from './keys';

/** The upload is not what was declared, or cannot be used: BAD_USER_INPUT, with `message` as the reason. */
export class UploadRejectedError extends Error {
  constructor(why: string) {
    super(why);
    this.name = 'UploadRejectedError';
  }
}

/** What `inspectUpload` works with. */
export interface InspectDeps {
  media: MediaStore;
  /** The bound on images processed at once (BusyError past it). */
  imageProcessing: ConcurrencyLimit;
  now: () => Date;
}

/**
 * Checks an upload's bytes and makes what is served of them; UploadRejectedError when they are
 * missing, of another size or type than declared, or an image that cannot be processed.
 */
export async function inspectUpload(deps: InspectDeps, upload: UploadRecord): Promise<UploadCompletion> {
  const { media } = deps;
  const found = await media.head(upload.key);
  if (!found) throw new UploadRejectedError('nothing was uploaded (send the bytes to the upload URL first)');
  if (found.byteSize !== upload.byteSize) {
    throw new UploadRejectedError(`${found.byteSize} bytes arrived, ${upload.byteSize} were declared`);
  }
  const start = await media.readStart(upload.key, SNIFF_BYTES);
  if (!start) throw new UploadRejectedError('nothing was uploaded');
  const sniffed = sniff(start);
  if (!matchesDeclared(upload.declaredType, sniffed)) {
    throw new UploadRejectedError(`the file is ${sniffed.contentType}, not ${upload.declaredType} as declared`);
  }
  if (upload.purpose === 'AVATAR' && !(sniffed.kind === 'IMAGE' && isProcessable(sniffed.contentType))) {
    throw new UploadRejectedError('an avatar must be a JPEG, PNG, GIF, WebP or AVIF image');
  }
  if (sniffed.kind !== 'IMAGE' || !isProcessable(sniffed.contentType)) {
    return {
      kind: sniffed.kind,
      contentType: sniffed.contentType,
      byteSize: found.byteSize,
      width: null,
      height: null,
      servedKey: upload.key,
      thumbnailKey: null,
      completedAt: deps.now(),
    };
  }
  // Read and decoded inside the bound, so that waiting images hold no memory.
  return deps.imageProcessing.run(async () => {
    const bytes = await media.read(upload.key, { maxBytes: upload.byteSize });
    if (!bytes) throw new UploadRejectedError('nothing was uploaded');
    let image;
    try {
      image = await processImage(bytes, sniffed.contentType, {
        maxPixels: limits.imagePixelsMax,
        thumbnailSize: limits.thumbnailSize,
      });
    } catch (error) {
      if (error instanceof ImageRejectedError) throw new UploadRejectedError(error.message);
      throw error;
    }
    const [servedKey, thumbnailKey] = [imageKeyOf(upload.key), thumbnailKeyOf(upload.key)];
    await Promise.all([
      media.put(servedKey, image.bytes, image.contentType),
      media.put(thumbnailKey, image.thumbnail, 'image/webp'),
    ]);
    return {
      kind: 'IMAGE',
      contentType: image.contentType,
      byteSize: image.bytes.length,
      width: image.width,
      height: image.height,
      servedKey,
      thumbnailKey,
      completedAt: deps.now(),
    };
  });
}
