import type { Store } from '../store';
import { createMemoryBlockStore } from './blocks';
import { createMemoryConversationStore } from './conversations';
import { createMemoryAccountDeletionStore } from './deletions';
import { createMemoryFriendStore } from './friends';
import { createMemoryMessageStore } from './messages';
import { createMemoryMlsStore } from './mlsGroups';
import { createMemoryModerationStore } from './moderation';
import { createMemoryPushTokenStore } from './pushTokens';
import { createMemorySessionStore } from './sessions';
import { createTables } from './tables';
import { createMemoryUploadStore } from './uploads';
import { createMemoryUserStore } from './users';

/**
 * The embedded default store: everything in this process's memory, lost on
 * exit. Every operation completes its writes without yielding to the event
 * loop, so each one is atomic and `seq` commit order is trivially `seq` order.
 */
export function createMemoryStore(): Store {
  const t = createTables();
  return {
    users: createMemoryUserStore(t),
    friends: createMemoryFriendStore(t),
    conversations: createMemoryConversationStore(t),
    messages: createMemoryMessageStore(t),
    pushTokens: createMemoryPushTokenStore(t),
    blocks: createMemoryBlockStore(t),
    sessions: createMemorySessionStore(t),
    moderation: createMemoryModerationStore(t),
    deletions: createMemoryAccountDeletionStore(t),
    uploads: createMemoryUploadStore(t),
    mls: createMemoryMlsStore(t),
    async close() {},
  };
}
