/**
 * The MongoDB store, split by collection. Concurrency control rests on unique
 * indexes alone (an insert either wins or fails with a duplicate key), never
 * on read-modify-write updates, and multi-document writes are ordered so that
 * a crash between them leaves nothing a reader would trust wrongly. There are
 * no transactions: FerretDB has none.
 */
import {
  MongoClient,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  type Db,
} from 'mongodb';
import type { Logger } from '../../lib/log';
import { UnavailableError } from '../../lib/unavailable';
import { wrapStore, type Store } from '../store';
import { createBlockStore } from './blocks';
import { createConversationStore } from './conversations';
import { createAccountDeletionStore } from './deletions';
import { collections } from './documents';
import { createFriendStore } from './friends';
import { createMessageStore, type MessageStoreOptions } from './messages';
import { createMlsStore } from './mlsGroups';
import { migrate } from './migrations';
import { createModerationStore } from './moderation';
import { createPushTokenStore } from './pushTokens';
import { createSessionStore } from './sessions';
import { createUploadStore } from './uploads';
import { createUserStore } from './users';

export { collections, ensureIndexes, ensureModerationIndexes } from './documents';
export { migrate, migrations, MigrationError, type Migration } from './migrations';

/** Options of `createMongoStore`. */
export interface MongoStoreOptions extends MessageStoreOptions {
  /** Called by close(), e.g. to close the client the store was given. @default nothing */
  onClose?: () => Promise<void>;
  /** The largest conversation any caller will ask for: slots are 1 to this. @default 100 */
  maxMembers?: number;
}

function isConnectivityError(error: unknown): boolean {
  return (
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNetworkError ||
    error instanceof MongoNotConnectedError
  );
}

/**
 * The MongoDB store, on a connected database that `migrate` has brought to
 * the latest version (or whose indexes `ensureIndexes` has created). Calls fail with `UnavailableError` when the server cannot be reached.
 */
export function createMongoStore(db: Db, options: MongoStoreOptions = {}): Store {
  const c = collections(db);
  const store: Store = {
    users: createUserStore(c),
    friends: createFriendStore(c),
    conversations: createConversationStore(c, { maxSlots: options.maxMembers ?? 100 }),
    messages: createMessageStore(c, options),
    pushTokens: createPushTokenStore(c),
    blocks: createBlockStore(c),
    sessions: createSessionStore(c),
    moderation: createModerationStore(c),
    deletions: createAccountDeletionStore(c),
    uploads: createUploadStore(c),
    mls: createMlsStore(c),
    async close() {
      await options.onClose?.();
    },
  };
  return wrapStore(store, async (call) => {
    try {
      return await call();
    } catch (error) {
      if (!isConnectivityError(error)) throw error;
      // A request the server did not answer in time may still be applied once it does.
      throw new UnavailableError('store', error, { uncertain: error instanceof MongoNetworkTimeoutError });
    }
  });
}

/**
 * A connected MongoDB database brought to the latest version by `migrate`
 * (indexes included), and its store. `timeoutMs` bounds every wait for the server: finding it,
 * connecting, and each answer (socketTimeoutMS, so that a server that hangs
 * fails the request instead of holding it; the driver's timeoutMS has no
 * effect in this version).
 */
export async function connectMongo(
  uri: string,
  dbName: string | undefined,
  { timeoutMs = 5000, log }: { timeoutMs?: number; log?: Logger } = {},
): Promise<{ client: MongoClient; db: Db; store: Store }> {
  const client = await new MongoClient(uri, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    socketTimeoutMS: timeoutMs,
  }).connect();
  const db = client.db(dbName);
  try {
    await migrate(db, { log });
  } catch (error) {
    await client.close();
    throw error;
  }
  return { client, db, store: createMongoStore(db) };
}
