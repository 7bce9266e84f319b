import { createMemoryStore } from '../../src/store/memory';
import { describeUploadStore } from './uploads.conformance';

describeUploadStore('memory', async () => createMemoryStore());
