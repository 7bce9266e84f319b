import { backendsAvailable, useFerretDBClient } from '../helpers/backends';
import { freshMongoStore, mongoStorePair } from '../helpers/mongoStores';
import { describeUploadStore } from './uploads.conformance';

const run = backendsAvailable('the MongoDB upload store suite');

(run ? describe : describe.skip)('MongoDB upload store on FerretDB', () => {
  const mongo = useFerretDBClient();

  describeUploadStore(
    'mongodb',
    () => freshMongoStore(mongo.current.client, 'uploads'),
    () => mongoStorePair(mongo.current.client, mongo.current.url, 'uploads'),
  );
});
