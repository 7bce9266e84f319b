/**
 * The local directory's layout. Each object is a directory `objects/<name>/` holding `data` and
 * `meta.json`, where `<name>` is the key with `/` written as `.` (keys have no dots, so names are
 * unique and flat). An object is written in a directory of its own under `staging/` and renamed
 * into place: a rename of a directory onto one that exists fails, so an upload can never replace
 * an object, and no reader ever sees half of one.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { MediaObject } from '../media';

/** The paths of one key's object and of its upload slot. */
export interface ObjectPaths {
  object: string;
  data: string;
  meta: string;
  /** The staging directory of the one upload the key's signed URL allows at a time. */
  uploadSlot: string;
}

/** Paths under `dir` for `key` (already checked with isMediaKey). */
export function pathsOf(dir: string, key: string): ObjectPaths {
  const name = key.replaceAll('/', '.');
  const object = join(dir, 'objects', name);
  return {
    object,
    data: join(object, 'data'),
    meta: join(object, 'meta.json'),
    uploadSlot: join(dir, 'staging', name),
  };
}

/** A fresh staging directory for a write that replaces (the server's own `put`). */
export function privateStaging(dir: string, key: string): string {
  return join(dir, 'staging', `${key.replaceAll('/', '.')}~${randomBytes(6).toString('hex')}`);
}

/** Creates `objects/` and `staging/` under `dir`. */
export async function ensureLayout(dir: string): Promise<void> {
  await mkdir(join(dir, 'objects'), { recursive: true });
  await mkdir(join(dir, 'staging'), { recursive: true });
}

/** Writes the object's type beside its data in `staging`. */
export async function writeMeta(staging: string, contentType: string): Promise<void> {
  await writeFile(join(staging, 'meta.json'), JSON.stringify({ contentType }));
}

/** Moves a complete staging directory into place; false when an object is there already. */
export async function publish(staging: string, object: string): Promise<boolean> {
  try {
    await rename(staging, object);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw error;
  }
}

/** Size and type of the object at `paths`, or null. */
export async function statObject(paths: ObjectPaths): Promise<MediaObject | null> {
  try {
    const [info, meta] = await Promise.all([stat(paths.data), readFile(paths.meta, 'utf8')]);
    const { contentType } = JSON.parse(meta) as { contentType?: unknown };
    return {
      byteSize: info.size,
      contentType: typeof contentType === 'string' ? contentType : 'application/octet-stream',
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Removes a directory and everything in it, if it is there. */
export function removeDir(path: string): Promise<void> {
  return rm(path, { recursive: true, force: true });
}
