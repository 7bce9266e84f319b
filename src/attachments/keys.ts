/** The media keys of one upload: the bytes as sent, and what the server makes of an image. */
import type { UploadRecord } from '../store/store';

/** Where an image's re-encoded copy (upright, without metadata) is kept. */
export const imageKeyOf = (uploadKey: string) => `${uploadKey}-image`;

/** Where an image's preview is kept. */
export const thumbnailKeyOf = (uploadKey: string) => `${uploadKey}-thumb`;

/** Where an avatar made of the upload is kept. */
export const avatarKeyOf = (uploadKey: string) => `${uploadKey}-avatar`;

/** Every object an upload may have left behind (avatars excepted: they belong to the user). */
export function objectKeysOf(upload: Pick<UploadRecord, 'key'>): string[] {
  return [upload.key, imageKeyOf(upload.key), thumbnailKeyOf(upload.key)];
}
