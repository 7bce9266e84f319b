import { randomBytes } from 'node:crypto';
import { ensureIndexes } from '../../src/store/mongo';
import { backendsAvailable, useFerretDBClient } from '../helpers/backends';
import { freshMongoStore, mongoStorePair } from '../helpers/mongoStores';
import { describeGroupControl } from './store.control.conformance';
import { describeStore } from './store.conformance';
import { describeMlsStore } from './store.mls.conformance';
import { describeModerationStore } from './store.moderation.conformance';
import { describeSessionStore } from './store.sessions.conformance';

const run = backendsAvailable('the MongoDB store suite');

(run ? describe : describe.skip)('MongoDB store on FerretDB', () => {
  const mongo = useFerretDBClient();

  const fresh = (prefix: string) => () => freshMongoStore(mongo.current.client, prefix);
  const pair = (prefix: string) => () => mongoStorePair(mongo.current.client, mongo.current.url, prefix);

  describeStore('mongodb', fresh('conformance'));
  describeGroupControl('mongodb', fresh('control'), pair('control'));
  describeModerationStore('mongodb', fresh('moderation'));
  describeMlsStore('mongodb', fresh('mls'), pair('mls'));
  // Two processes: a second client of its own on the same database.
  describeSessionStore('mongodb', fresh('sessions'), pair('sessions'));

  it('creates its indexes idempotently', async () => {
    const db = mongo.current.client.db(`indexes_${randomBytes(4).toString('hex')}`);
    await ensureIndexes(db);
    await ensureIndexes(db);
    const names = (await db.collection('messages').indexes()).map((i) => i.name).sort();
    expect(names).toEqual(['_id_', 'conversation_clientKey_unique', 'conversation_seq_unique']);
    await db.dropDatabase();
  });
});
