/**
 * Media in an S3-compatible bucket (AWS S3, Cloudflare R2, Google Cloud Storage's S3 API, MinIO,
 * versitygw), through the AWS SDK v3. Clients upload and download with presigned URLs; the
 * signature binds the method, the key, and for an upload its Content-Type, its Content-Length and
 * `If-None-Match: *`, so an upload has the signed size exactly and cannot replace an object.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import { checkMediaKey, downloadHeaders, MediaTooLargeError, type MediaStore } from './media';

/** Where the bucket is and who may use it (the S3_* variables). */
export interface S3Settings {
  /** S3_ENDPOINT: the service's URL. @default AWS S3 of the region */
  endpoint?: string;
  /** S3_BUCKET */
  bucket: string;
  /** S3_REGION (`auto` for R2) */
  region: string;
  /** S3_ACCESS_KEY_ID */
  accessKeyId: string;
  /** S3_SECRET_ACCESS_KEY */
  secretAccessKey: string;
  /** S3_FORCE_PATH_STYLE: bucket in the path rather than the host name (MinIO, versitygw). @default false */
  forcePathStyle: boolean;
}

/** An S3 client for `settings`. */
export function createS3Client(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    // Checksums only where an operation requires one: a default CRC32 of the empty body would be signed into
    // every presigned upload URL (and fail the real upload), and not every S3-compatible service checks them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** The headers a presigned upload signs besides Host: the presigner leaves Content-Type out unless told. */
const SIGNED_UPLOAD_HEADERS = new Set(['content-type', 'content-length', 'if-none-match']);

/** Deletes sent at once: one request per key, since GCS's S3 API has no multi-object delete. */
const DELETE_CONCURRENCY = 8;

/**
 * A streamed object is sent in parts of about this size (S3 wants at least 5 MiB but for the last
 * one, and at most 10,000 of them: up to 80 GB); one part is all it holds at a time.
 */
const PART_BYTES = 8 * 1024 * 1024;

function isNotFound(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.$metadata.httpStatusCode === 404 || error.name === 'NoSuchKey');
}

/** A media store in `bucket`, through `client`. */
export function createS3MediaStore(client: S3Client, { bucket }: { bucket: string }): MediaStore {
  return {
    async presignUpload(key, { contentType, byteSize, expiresInSeconds }) {
      checkMediaKey(key);
      const command = new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        ContentType: contentType,
        ContentLength: byteSize,
        IfNoneMatch: '*',
      });
      const url = await getSignedUrl(client, command, {
        expiresIn: expiresInSeconds,
        signableHeaders: SIGNED_UPLOAD_HEADERS,
      });
      // Content-Length is signed too; HTTP clients set it from the body, and browsers refuse to have it set.
      return { url, method: 'PUT', headers: { 'content-type': contentType, 'if-none-match': '*' } };
    },
    async presignDownload(key, options) {
      checkMediaKey(key);
      const { type, disposition } = downloadHeaders(key, options);
      const command = new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        ResponseContentType: type,
        ResponseContentDisposition: disposition,
      });
      return getSignedUrl(client, command, { expiresIn: options.expiresInSeconds });
    },
    async head(key) {
      checkMediaKey(key);
      try {
        const answer = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return {
          byteSize: answer.ContentLength ?? 0,
          contentType: answer.ContentType ?? 'application/octet-stream',
        };
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    async read(key, { maxBytes }) {
      checkMediaKey(key);
      let body: Readable;
      try {
        // One byte past the bound is enough to know the object is too large, whatever its length says.
        const answer = await client.send(
          new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${maxBytes}` }),
        );
        body = answer.Body as Readable;
      } catch (error) {
        if (isNotFound(error)) return null;
        // An empty object has no byte 0: the range cannot be satisfied.
        if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 416) return Buffer.alloc(0);
        throw error;
      }
      const chunks: Buffer[] = [];
      let length = 0;
      for await (const chunk of body) {
        length += (chunk as Buffer).length;
        if (length > maxBytes) {
          body.destroy();
          throw new MediaTooLargeError(key, maxBytes);
        }
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks, length);
    },
    async readStart(key, length) {
      checkMediaKey(key);
      if (length <= 0) return Buffer.alloc(0);
      try {
        const answer = await client.send(
          new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${length - 1}` }),
        );
        return Buffer.from(await answer.Body!.transformToByteArray());
      } catch (error) {
        if (isNotFound(error)) return null;
        if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 416) return Buffer.alloc(0);
        throw error;
      }
    },
    async put(key, bytes, contentType) {
      checkMediaKey(key);
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: contentType }));
    },
    async putStream(key, body, contentType) {
      checkMediaKey(key);
      const target = { Bucket: bucket, Key: key };
      let uploadId: string | undefined;
      const parts: CompletedPart[] = [];
      let held: Uint8Array[] = [];
      let heldBytes = 0;
      let total = 0;
      const take = () => {
        const bytes = Buffer.concat(held, heldBytes);
        [held, heldBytes] = [[], 0];
        return bytes;
      };
      const sendPart = async () => {
        const bytes = take();
        uploadId ??= (await client.send(new CreateMultipartUploadCommand({ ...target, ContentType: contentType })))
          .UploadId;
        const PartNumber = parts.length + 1;
        const answer = await client.send(
          new UploadPartCommand({
            ...target,
            UploadId: uploadId,
            PartNumber,
            Body: bytes,
            ContentLength: bytes.length,
          }),
        );
        parts.push({ PartNumber, ETag: answer.ETag });
      };
      try {
        for await (const chunk of body) {
          held.push(chunk);
          heldBytes += chunk.length;
          total += chunk.length;
          if (heldBytes >= PART_BYTES) await sendPart();
        }
        if (uploadId === undefined) {
          // Smaller than one part: one plain PUT.
          await client.send(new PutObjectCommand({ ...target, Body: take(), ContentType: contentType }));
          return total;
        }
        if (heldBytes > 0) await sendPart();
        await client.send(
          new CompleteMultipartUploadCommand({ ...target, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
        );
        return total;
      } catch (error) {
        // The parts sent so far would be kept (and billed) until a lifecycle rule removed them.
        if (uploadId !== undefined) {
          await client.send(new AbortMultipartUploadCommand({ ...target, UploadId: uploadId })).catch(() => undefined);
        }
        throw error;
      }
    },
    async delete(keys) {
      keys.forEach(checkMediaKey);
      const pending = [...keys];
      const worker = async () => {
        for (let key = pending.shift(); key !== undefined; key = pending.shift()) {
          await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
        }
      };
      await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
    },
  };
}
