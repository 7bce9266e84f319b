import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { createMongoStore, migrate } from '../../src/store/mongo';
import { backendsAvailable, useFerretDBClient } from '../helpers/backends';
import { describeUploadStore } from './uploads.conformance';

const run = backendsAvailable('the MongoDB upload store suite');

(run ? describe : describe.skip)('MongoDB upload store on FerretDB', () => {
  const mongo = useFerretDBClient();

  describeUploadStore(
    'mongodb',
    async () => {
      const db = mongo.current.client.db(`uploads_${randomBytes(4).toString('hex')}`);
      await migrate(db);
      return createMongoStore(db, { onClose: async () => void (await db.dropDatabase()) });
    },
    async () => {
      const name = `uploads_pair_${randomBytes(4).toString('hex')}`;
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
});
