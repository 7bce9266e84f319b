import { createMemoryPubSub } from '../../src/pubsub/memory';
import { describePubSub } from './pubsub.conformance';

describePubSub('in-process', async (options) => createMemoryPubSub(options));
