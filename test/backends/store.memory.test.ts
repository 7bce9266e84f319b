import { createMemoryStore } from '../../src/store/memory';
import { describeGroupControl } from './store.control.conformance';
import { describeStore } from './store.conformance';
import { describeMlsStore } from './store.mls.conformance';
import { describeModerationStore } from './store.moderation.conformance';
import { describeSessionStore } from './store.sessions.conformance';

describeStore('memory', async () => createMemoryStore());
describeSessionStore('memory', async () => createMemoryStore());
describeGroupControl('memory', async () => createMemoryStore());
describeModerationStore('memory', async () => createMemoryStore());
describeMlsStore('memory', async () => createMemoryStore());
