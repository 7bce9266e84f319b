import { createMemoryStore } from '../../src/store/memory';
import { describeStore } from './store.conformance';

describeStore('memory', async () => createMemoryStore());
