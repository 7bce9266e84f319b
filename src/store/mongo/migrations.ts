/**
 * Versioned changes to a chat database's indexes and documents, applied in
 * order at every start. The `migrations` collection holds one document per
 * applied version (`_id: version`), inserted after its step succeeded: the
 * unique `_id` decides which of two processes starting at once records it.
 * Both may have run the step, so every `up` must be idempotent (creating an
 * index that exists, an update whose filter skips documents already changed)
 * and safe to run twice at once (two upserts of one new document race:
 * `upsertOnce`).
 */
import type { Db } from 'mongodb';
import type { Logger } from '../../lib/log';
import {
  ensureGroupControlIndexes,
  ensureKeyPackageIndexes,
  ensureIndexes,
  ensureModerationIndexes,
  isDuplicateKey,
  uploadIndexes,
} from './documents';

/** One step of the database's history. */
export interface Migration {
  /** Its place in the order: 1, 2, 3, … never reused, never renumbered. */
  version: number;
  /** A few words for the logs and the `migrations` collection. */
  name: string;
  /** The change; run at most once per process, possibly by two processes at once, so idempotent. */
  up(db: Db): Promise<void>;
}

/** A `migrations` document: a version applied, and when. */
interface MigrationDoc {
  _id: number;
  name: string;
  appliedAt: Date;
}

/**
 * The database's history, oldest first. Append; never edit a step that has
 * shipped. Version 1 is the indexes as created before versions were recorded,
 * so a database from then is simply recorded at 1.
 */
export const migrations: readonly Migration[] = [
  { version: 1, name: 'indexes', up: ensureIndexes },
  // Indexes only: releases before it never read these collections, and find messages without the new index.
  { version: 2, name: 'reports and account deletions', up: ensureModerationIndexes },
  // Indexes only: the collection is new; memberships without joinedAt read as joined at the group's creation.
  { version: 3, name: 'group control versions', up: ensureGroupControlIndexes },
  { version: 4, name: 'uploads', up: uploadIndexes },
  { version: 5, name: 'key packages', up: ensureKeyPackageIndexes },
];

/** A step that failed; the process should not serve on a database half-way through it. */
export class MigrationError extends Error {
  constructor(migration: Migration, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`migration ${migration.version} (${migration.name}) failed: ${why}`, { cause });
    this.name = 'MigrationError';
  }
}

/** Options of `migrate`. */
export interface MigrateOptions {
  /** The steps to apply. @default migrations */
  migrations?: readonly Migration[];
  /** Where each applied step is said. @default nothing */
  log?: Logger;
}

function checkOrder(list: readonly Migration[]): void {
  list.forEach((m, i) => {
    if (!Number.isInteger(m.version) || m.version < 1 || (i > 0 && m.version <= list[i - 1]!.version)) {
      throw new Error(`migrations: version ${m.version} (${m.name}) is not a positive integer above the one before`);
    }
  });
}

/**
 * Brings `db` to the latest version: runs, in order, every step above the
 * highest version recorded, recording each after it succeeds. Returns the
 * database's version afterwards. A database already past the steps known here
 * (a newer release started first, during a rolling upgrade) is left as it is.
 */
export async function migrate(db: Db, { migrations: list = migrations, log }: MigrateOptions = {}): Promise<number> {
  checkOrder(list);
  const applied = db.collection<MigrationDoc>('migrations');
  const newest = await applied
    .find({}, { projection: { _id: 1 } })
    .sort({ _id: -1 })
    .limit(1)
    .next();
  let version = newest?._id ?? 0;
  const latest = list.at(-1)?.version ?? 0;
  if (version > latest) {
    log?.info(`migrations: database at version ${version}, newer than this release's ${latest}; left as it is`);
    return version;
  }
  for (const migration of list) {
    if (migration.version <= version) continue;
    try {
      await migration.up(db);
    } catch (error) {
      throw new MigrationError(migration, error);
    }
    try {
      await applied.insertOne({ _id: migration.version, name: migration.name, appliedAt: new Date() });
      log?.info(`migrations: applied ${migration.version} (${migration.name})`);
    } catch (error) {
      // Another process ran it too and recorded it first: the step is idempotent, so both are done.
      if (!isDuplicateKey(error)) throw new MigrationError(migration, error);
    }
    version = migration.version;
  }
  return version;
}
