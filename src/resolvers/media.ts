import { badInput, notAMember, notFound, rateLimited } from '../contract/errors';
import { limits } from '../contract/limits';
import type { Resolvers } from '../generated/graphql';
import { BusyError } from '../lib/concurrency';
import { ImageRejectedError, squareImage } from '../media/images';
import { newMediaKey } from '../media/media';
import { isRecognisedType, normalType } from '../media/sniff';
import type { UploadRecord, UserRecord } from '../store/store';
import { inspectUpload, UploadRejectedError } from '../attachments/inspect';
import { avatarKeyOf, objectKeysOf } from '../attachments/keys';
import { optionalViewerId, requireViewer, spend } from './access';
import type { Context } from './context';

const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;

/** A file name as the user knows it; BAD_USER_INPUT unless 1 to 255 characters with no control characters. */
function checkFileName(fileName: string): string {
  const name = fileName.normalize('NFC');
  const length = [...name].length;
  if (name.trim().length === 0 || length > limits.fileNameMax) {
    throw badInput('fileName', `must be 1 to ${limits.fileNameMax} characters`);
  }
  if (/[\p{Cc}\p{Cs}/\\]/u.test(name)) throw badInput('fileName', 'must not hold control characters, / or \\');
  return name;
}

/** The upload limits, checked on the declaration before anything is reserved. */
function checkDeclaration(ctx: Context, input: { purpose: string; contentType: string; byteSize: number }): void {
  const { maxUploadBytes } = ctx.services.config;
  if (input.contentType.length > limits.contentTypeMax || !MIME_TYPE.test(input.contentType)) {
    throw badInput('contentType', 'must be a MIME type such as image/jpeg (without parameters)');
  }
  if (input.byteSize < 1) throw badInput('byteSize', 'must be at least 1');
  if (input.byteSize > maxUploadBytes) {
    throw badInput('byteSize', `a file is at most ${maxUploadBytes} bytes (MAX_UPLOAD_BYTES)`);
  }
  if (input.purpose === 'AVATAR') {
    const type = normalType(input.contentType);
    if (!type.startsWith('image/') || !isRecognisedType(type)) {
      throw badInput('contentType', 'an avatar must be a JPEG, PNG, GIF, WebP or AVIF image');
    }
    if (input.byteSize > limits.avatarBytesMax) {
      throw badInput('byteSize', `an avatar is an image of at most ${limits.avatarBytesMax} bytes (5 MB)`);
    }
  }
}

/** The viewer's own upload, else NOT_FOUND (the same for another's and for none, so ids reveal nothing). */
async function requireOwnUpload(ctx: Context, uploadId: string): Promise<{ viewer: UserRecord; upload: UploadRecord }> {
  const viewer = await requireViewer(ctx);
  const upload = await ctx.loaders.uploads.load(uploadId);
  if (!upload || upload.userId !== viewer.id) throw notFound('upload', uploadId);
  return { viewer, upload };
}

/** RATE_LIMITED instead of BusyError when the image bound is full. */
async function withinImageBound<T>(task: () => Promise<T>): Promise<T> {
  try {
    return await task();
  } catch (error) {
    if (error instanceof BusyError) throw rateLimited(1);
    throw error;
  }
}

/** When URLs signed now expire. */
function urlExpiry(ctx: Context): Date {
  return new Date(Math.floor(ctx.services.now().getTime() / 1000) * 1000 + limits.downloadUrlSeconds * 1000);
}

/** A signed download URL of an upload's object. */
function downloadUrl(ctx: Context, key: string, fileName: string, contentType: string): Promise<string> {
  return ctx.services.media.presignDownload(key, {
    expiresInSeconds: limits.downloadUrlSeconds,
    fileName,
    contentType,
    inline: true,
  });
}

/**
 * The uploads `attachmentIds` name, checked for sendMessage: at most 10, distinct, each a
 * completed ATTACHMENT upload of the viewer's not used yet; BAD_USER_INPUT otherwise.
 */
export async function requireAttachable(ctx: Context, viewerId: string, attachmentIds: readonly string[]) {
  if (attachmentIds.length > limits.attachmentsMax) {
    throw badInput('attachmentIds', `a message carries at most ${limits.attachmentsMax} attachments`);
  }
  if (new Set(attachmentIds).size !== attachmentIds.length) throw badInput('attachmentIds', 'lists an upload twice');
  const uploads = await ctx.loaders.uploads.loadMany(attachmentIds);
  uploads.forEach((upload, i) => {
    if (upload instanceof Error) throw upload;
    if (!upload || upload.userId !== viewerId || upload.purpose !== 'ATTACHMENT') {
      throw badInput('attachmentIds', `${attachmentIds[i]} is not an attachment upload of yours`);
    }
    if (!upload.completion) throw badInput('attachmentIds', `${upload.id} is not completed (call completeUpload)`);
  });
}

/** Deletes the uploads' objects and records (a deleted message's attachments); failures are only logged. */
export async function deleteUploads(ctx: Context, uploadIds: readonly string[]): Promise<void> {
  if (uploadIds.length === 0) return;
  const { store, media, log } = ctx.services;
  try {
    const uploads = (await store.uploads.getMany(uploadIds)).filter((u) => u !== null);
    await media.delete(uploads.flatMap(objectKeysOf));
    await store.uploads.delete(uploadIds);
  } catch (error) {
    log.warn(`deleting uploads ${uploadIds.join(', ')} failed`, error);
  }
}

/** Uploads, their processing, attachments and avatars. */
export const mediaResolvers: Resolvers = {
  Mutation: {
    createUpload: async (_parent, { input }, ctx) => {
      const viewer = await requireViewer(ctx);
      const fileName = checkFileName(input.fileName);
      checkDeclaration(ctx, input);
      const { store, media, ids, now, limiters } = ctx.services;
      await spend(ctx, limiters.uploads, viewer.id);
      const wait = await limiters.uploadBytes.take(viewer.id, input.byteSize);
      if (wait > 0) {
        ctx.services.metrics.rateLimited.inc({ limit: limiters.uploadBytes.name });
        throw rateLimited(wait);
      }
      const createdAt = now();
      const upload = await store.uploads.create({
        id: ids.next(),
        userId: viewer.id,
        purpose: input.purpose,
        key: newMediaKey(viewer.id),
        fileName,
        declaredType: input.contentType,
        byteSize: input.byteSize,
        createdAt,
      });
      const request = await media.presignUpload(upload.key, {
        contentType: upload.declaredType,
        byteSize: upload.byteSize,
        expiresInSeconds: limits.uploadUrlSeconds,
      });
      return {
        id: upload.id,
        url: request.url,
        method: request.method,
        headers: Object.entries(request.headers).map(([name, value]) => ({ name, value })),
        formFields: [],
        expiresAt: new Date(Math.floor(createdAt.getTime() / 1000) * 1000 + limits.uploadUrlSeconds * 1000),
      };
    },

    completeUpload: async (_parent, { uploadId }, ctx) => {
      const { upload } = await requireOwnUpload(ctx, uploadId);
      if (upload.completion) return upload;
      const { store, media, imageProcessing, now } = ctx.services;
      let completion;
      try {
        completion = await withinImageBound(() => inspectUpload({ media, imageProcessing, now }, upload));
      } catch (error) {
        if (!(error instanceof UploadRejectedError)) throw error;
        // A concurrent completion may have finished (and removed the bytes as sent): its result stands.
        const [current] = await store.uploads.getMany([upload.id]);
        if (current?.completion) return current;
        await media.delete(objectKeysOf(upload));
        throw badInput('uploadId', error.message);
      }
      const done = await store.uploads.complete(upload.id, completion);
      if (!done) {
        await media.delete(objectKeysOf(upload));
        throw notFound('upload', uploadId);
      }
      // An image is served from its re-encoded copy: the bytes as sent (with their metadata) go.
      if (done.completion!.servedKey !== upload.key) await media.delete([upload.key]);
      ctx.loaders.uploads.clear(upload.id).prime(upload.id, done);
      return done;
    },

    setAvatar: async (_parent, { uploadId }, ctx) => {
      const viewer = await requireViewer(ctx);
      const { store, media, imageProcessing, log } = ctx.services;
      let avatarKey: string | null = null;
      let upload: UploadRecord | null = null;
      if (uploadId != null) {
        ({ upload } = await requireOwnUpload(ctx, uploadId));
        if (upload.purpose !== 'AVATAR') throw badInput('uploadId', 'is not an AVATAR upload');
        if (upload.completion?.kind !== 'IMAGE') throw badInput('uploadId', 'is not completed (call completeUpload)');
        if (upload.byteSize > limits.avatarBytesMax) throw badInput('uploadId', 'an avatar is at most 5 MB');
        const claim = await store.uploads.claim([upload.id], `avatar:${viewer.id}`);
        if (claim.status !== 'ok') throw badInput('uploadId', 'this upload has been used');
        const servedKey = upload.completion.servedKey;
        const made = await withinImageBound(() =>
          imageProcessing.run(async () => {
            // The re-encoded copy may be a little larger than what was sent.
            const bytes = await media.read(servedKey, { maxBytes: 2 * limits.avatarBytesMax });
            if (!bytes) return null;
            return squareImage(bytes, limits.avatarSize, limits.imagePixelsMax).catch((error: unknown) => {
              if (error instanceof ImageRejectedError) return null;
              throw error;
            });
          }),
        ).catch(async (error: unknown) => {
          await store.uploads.release([upload!.id], `avatar:${viewer.id}`);
          throw error;
        });
        if (!made) throw badInput('uploadId', 'the image cannot be read');
        avatarKey = avatarKeyOf(upload.key);
        await media.put(avatarKey, made, 'image/webp');
      }
      const changed = await store.users.setAvatar(viewer.id, avatarKey);
      if (!changed) throw notFound('user', viewer.id);
      const { user, previousKey } = changed;
      // Two concurrent sets of one upload store one key: never delete the one now in place.
      if (previousKey !== null && previousKey !== avatarKey) {
        await media.delete([previousKey]).catch((error: unknown) => log.warn('old avatar not deleted', error));
      }
      // The upload is used up: the avatar is an object of its own.
      if (upload) await deleteUploads(ctx, [upload.id]);
      ctx.loaders.users.clear(user.id).prime(user.id, user);
      return user;
    },
  },

  Attachment: {
    kind: (u) => u.completion!.kind,
    contentType: (u) => u.completion!.contentType,
    byteSize: (u) => u.completion!.byteSize,
    width: (u) => u.completion!.width,
    height: (u) => u.completion!.height,
    url: (u, _args, ctx) => downloadUrl(ctx, u.completion!.servedKey, u.fileName, u.completion!.contentType),
    thumbnailUrl: (u, _args, ctx) =>
      u.completion!.thumbnailKey === null
        ? null
        : downloadUrl(ctx, u.completion!.thumbnailKey, `${u.fileName}.webp`, 'image/webp'),
    urlExpiresAt: (_u, _args, ctx) => urlExpiry(ctx),
  },

  Message: {
    // Signed for each read, and for members only: never shared between subscribers (see shared.ts).
    attachments: async (m, _args, ctx) => {
      if (m.deletedAt || m.attachmentIds.length === 0) return [];
      const viewer = optionalViewerId(ctx);
      const conversation = await ctx.loaders.conversations.load(m.conversationId);
      if (viewer === null || !conversation?.memberIds.includes(viewer)) throw notAMember();
      const uploads = await ctx.loaders.uploads.loadMany(m.attachmentIds);
      return uploads.filter((u): u is UploadRecord => u !== null && !(u instanceof Error) && u.completion !== null);
    },
  },

  User: {
    avatarUrl: (u, _args, ctx) =>
      u.avatarKey === null
        ? null
        : ctx.services.media.presignDownload(u.avatarKey, {
            expiresInSeconds: limits.downloadUrlSeconds,
            fileName: 'avatar.webp',
            contentType: 'image/webp',
            inline: true,
          }),
  },
};
