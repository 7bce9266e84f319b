import { MongoClient } from 'mongodb';
import { backendsAvailable } from '../helpers/backends';
import { useCluster } from '../helpers/cluster';
import { encryptionSuite } from '../helpers/encryptionSuite';
import type { ServerProcess } from '../helpers/process';

const run = backendsAvailable('the multi-process encryption suite');

(run ? describe : describe.skip)('end-to-end encrypted conversations on two processes (FerretDB, Redis)', () => {
  const cluster = useCluster();
  let a: ServerProcess;
  let b: ServerProcess;
  beforeAll(async () => {
    [a, b] = await Promise.all([cluster.current.start(), cluster.current.start()]);
  }, 60_000);

  encryptionSuite({
    endpoints: () => [a, b].map((p) => ({ url: p.url, wsUrl: p.wsUrl })),
    // Every document of every collection of the database.
    findInStore: async (needles) => {
      const client = await MongoClient.connect(cluster.current.env.MONGODB_URI!);
      try {
        const db = client.db(cluster.current.env.MONGODB_DB);
        const found = new Set<string>();
        for (const { name } of await db.listCollections().toArray()) {
          const text = JSON.stringify(await db.collection(name).find().toArray());
          for (const n of needles) if (text.includes(n)) found.add(`${n} in ${name}`);
        }
        return [...found];
      } finally {
        await client.close();
      }
    },
  });
});
