import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { createMongoStore, ensureIndexes, migrate } from '../../src/store/mongo';
import { backendsAvailable, useFerretDBClient } from '../helpers/backends';
import { describeGroupControl } from './store.control.conformance';
import { describeStore } from './store.conformance';
import { describeModerationStore } from './store.moderation.conformance';
import { describeSessionStore } from './store.sessions.conformance';

const run = backendsAvailable('the MongoDB store suite');

(run ? describe : describe.skip)('MongoDB store on FerretDB', () => {
  const mongo = useFerretDBClient();

  describeStore('mongodb', async () => {
    const db = mongo.current.client.db(`conformance_${randomBytes(4).toString('hex')}`);
    await ensureIndexes(db);
    return createMongoStore(db, { onClose: async () => void (await db.dropDatabase()) });
  });

  describeGroupControl(
    'mongodb',
    async () => {
      const db = mongo.current.client.db(`control_${randomBytes(4).toString('hex')}`);
      await migrate(db);
      return createMongoStore(db, { onClose: async () => void (await db.dropDatabase()) });
    },
    async () => {
      const name = `control_pair_${randomBytes(4).toString('hex')}`;
      const first = mongo.current.client.db(name);
      await migrate(first);
      const other = await new MongoClient(mongo.current.url).connect();
      return {
        stores: [createMongoStore(first), createMongoStore(other.db(name))],
        async close() {
          await other.close();
          await first.dropDatabase();
        },
      };
    },
  );

  describeModerationStore('mongodb', async () => {
    const db = mongo.current.client.db(`moderation_${randomBytes(4).toString('hex')}`);
    await migrate(db);
    return createMongoStore(db, { onClose: async () => void (await db.dropDatabase()) });
  });

  describeSessionStore(
    'mongodb',
    async () => {
      const db = mongo.current.client.db(`sessions_${randomBytes(4).toString('hex')}`);
      await ensureIndexes(db);
      return createMongoStore(db, { onClose: async () => void (await db.dropDatabase()) });
    },
    // Two processes: a second client of its own on the same database.
    async () => {
      const name = `sessions_pair_${randomBytes(4).toString('hex')}`;
      const first = mongo.current.client.db(name);
      await ensureIndexes(first);
      const other = await new MongoClient(mongo.current.url).connect();
      return {
        stores: [createMongoStore(first), createMongoStore(other.db(name))],
        async close() {
          await other.close();
          await first.dropDatabase();
        },
      };
    },
  );

  it('creates its indexes idempotently', async () => {
    const db = mongo.current.client.db(`indexes_${randomBytes(4).toString('hex')}`);
    await ensureIndexes(db);
    await ensureIndexes(db);
    const names = (await db.collection('messages').indexes()).map((i) => i.name).sort();
    expect(names).toEqual(['_id_', 'conversation_clientKey_unique', 'conversation_seq_unique']);
    await db.dropDatabase();
  });
});
