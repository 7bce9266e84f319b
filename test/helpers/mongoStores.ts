import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { createMongoStore, migrate } from '../../src/store/mongo';
import type { Store } from '../../src/store/store';
import type { StorePair } from '../backends/store.sessions.conformance';

const databaseName = (prefix: string) => `${prefix}_${randomBytes(4).toString('hex')}`;

/** A store on a database of its own, migrated to the latest version and dropped when the store closes. */
export async function freshMongoStore(client: MongoClient, prefix: string): Promise<Store> {
  const db = client.db(databaseName(prefix));
  await migrate(db);
  return createMongoStore(db, { onClose: async () => void (await db.dropDatabase()) });
}

/** A StorePair on a fresh, migrated database: `client` and a second client of its own on `url`. */
export async function mongoStorePair(client: MongoClient, url: string, prefix: string): Promise<StorePair> {
  const name = databaseName(`${prefix}_pair`);
  const first = client.db(name);
  await migrate(first);
  const other = await new MongoClient(url).connect();
  return {
    stores: [createMongoStore(first), createMongoStore(other.db(name))],
    async close() {
      await other.close();
      await first.dropDatabase();
    },
  };
}
