import { randomBytes } from 'node:crypto';
import type { Db } from 'mongodb';
import { migrate, migrations, type Migration } from '../../src/store/mongo';
import { upsertOnce } from '../../src/store/mongo/documents';
import { backendsAvailable, useFerretDBClient } from '../helpers/backends';

const run = backendsAvailable('the MongoDB migrations suite');

(run ? describe : describe.skip)('MongoDB migrations on FerretDB', () => {
  const mongo = useFerretDBClient();
  const dbs: Db[] = [];

  function freshDb(): Db {
    const db = mongo.current.client.db(`migrations_${randomBytes(4).toString('hex')}`);
    dbs.push(db);
    return db;
  }

  afterEach(async () => {
    await Promise.all(dbs.splice(0).map((db) => db.dropDatabase()));
  });

  /** Three idempotent steps that count their runs, each setting its own field on one document. */
  function counted(): { list: Migration[]; runs: Map<number, number> } {
    const runs = new Map<number, number>();
    const list = [1, 2, 3].map(
      (version): Migration => ({
        version,
        name: `step ${version}`,
        async up(db) {
          runs.set(version, (runs.get(version) ?? 0) + 1);
          // Two processes' upserts of one new document race: upsertOnce retries the loser's.
          await upsertOnce(() =>
            db
              .collection<{ _id: string }>('things')
              .updateOne({ _id: 'one' }, { $set: { [`step${version}`]: true } }, { upsert: true }),
          );
        },
      }),
    );
    return { list, runs };
  }

  async function recorded(db: Db): Promise<unknown[]> {
    const docs = await db.collection('migrations').find().sort({ _id: 1 }).toArray();
    return docs.map((d) => d._id);
  }

  it('brings a fresh database to the latest version, indexes included', async () => {
    const db = freshDb();
    const latest = migrations.at(-1)!.version;
    expect(await migrate(db)).toBe(latest);
    expect(await recorded(db)).toEqual(migrations.map((m) => m.version));
    const names = (await db.collection('users').indexes()).map((i) => i.name).sort();
    expect(names).toEqual(['_id_', 'username_unique']);
    const messages = (await db.collection('messages').indexes()).map((i) => i.name).sort();
    expect(messages).toEqual(['_id_', 'conversation_clientKey_unique', 'conversation_seq_unique', 'senderId']);
  });

  it('run twice, applies each step once and records each version once', async () => {
    const db = freshDb();
    const { list, runs } = counted();
    expect(await migrate(db, { migrations: list })).toBe(3);
    expect(await migrate(db, { migrations: list })).toBe(3);
    expect([...runs.entries()]).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
    expect(await recorded(db)).toEqual([1, 2, 3]);
  });

  it('run twice at once, records each version once and ends as if run once', async () => {
    const db = freshDb();
    const { list } = counted();
    expect(await Promise.all([migrate(db, { migrations: list }), migrate(db, { migrations: list })])).toEqual([3, 3]);
    expect(await recorded(db)).toEqual([1, 2, 3]);
    const things = await db.collection('things').find().toArray();
    expect(things).toEqual([{ _id: 'one', step1: true, step2: true, step3: true }]);
  });

  it('on a database recorded at version N, runs only the steps after N', async () => {
    const db = freshDb();
    const { list, runs } = counted();
    await migrate(db, { migrations: list.slice(0, 1) });
    runs.clear();
    expect(await migrate(db, { migrations: list })).toBe(3);
    expect([...runs.keys()]).toEqual([2, 3]);
    expect(await recorded(db)).toEqual([1, 2, 3]);
  });

  it('leaves a database newer than its steps as it is, and stops at a failing step', async () => {
    const db = freshDb();
    const { list, runs } = counted();
    await migrate(db, { migrations: list });
    runs.clear();
    expect(await migrate(db, { migrations: list.slice(0, 2) })).toBe(3);
    expect(runs.size).toBe(0);

    const other = freshDb();
    const failing: Migration = {
      version: 2,
      name: 'breaks',
      up: () => Promise.reject(new Error('no')),
    };
    await expect(migrate(other, { migrations: [list[0]!, failing, list[2]!] })).rejects.toThrow(
      'migration 2 (breaks) failed: no',
    );
    expect(await recorded(other)).toEqual([1]);
  });
});
