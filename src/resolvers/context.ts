import { randomUUID } from 'node:crypto';
import type { Auth } from '../auth/session';
import type { ScryptParams } from '../auth/passwords';
import type { Revocations } from '../auth/revocations/revocations';
import type { TokenService } from '../auth/tokens';
import type { Discovery } from '../cluster/discovery/discovery';
import type { IdGenerator } from '../cluster/ids';
import type { Config } from '../config';
import type { ByteBudget } from '../lib/byteBudget';
import type { ConcurrencyLimit } from '../lib/concurrency';
import type { Flags } from '../lib/flags';
import type { Logger } from '../lib/log';
import type { RateLimiter } from '../lib/rateLimit';
import type { Slots } from '../lib/slots';
import type { PresenceTracker } from '../presence/presence';
import type { PubSub } from '../pubsub/pubsub';
import type { PushNotifier } from '../push/notifier';
import type { Metrics } from '../server/metrics';
import type { Store } from '../store/store';
import { createLoaders, type Loaders } from './loaders';

/** What every operation may use; built once per process by server/services.ts. */
export interface Services {
  config: Config;
  store: Store;
  pubsub: PubSub;
  ids: IdGenerator;
  tokens: TokenService;
  /** Tokens revoked by logOut. */
  revocations: Revocations;
  presence: PresenceTracker;
  discovery: Discovery;
  push: PushNotifier;
  log: Logger;
  passwordParams: ScryptParams;
  limiters: {
    messages: RateLimiter;
    auth: RateLimiter;
    groups: RateLimiter;
    /** registerPushToken per user. */
    pushTokens: RateLimiter;
    loginFailures: RateLimiter;
    /** One typing announcement per user and conversation every 2 seconds; more are absorbed. */
    typing: RateLimiter;
  };
  /** Whose typing indicator is up, by `userId:conversationId`: a stop is announced only after a start. */
  typingShown: Flags;
  /** Holders of capped things at once (connections per user and address, subscriptions per user). */
  slots: Slots;
  /** Password hashes computed at once; more wait, and past a bound are refused. */
  passwordHashing: ConcurrencyLimit;
  metrics: Metrics;
  now: () => Date;
}

/** The per-operation context handed to every resolver. */
export interface Context {
  services: Services;
  auth: Auth;
  loaders: Loaders;
  /** The client's address, for per-client limits. */
  clientAddress: string;
  /** What a subscription's waiting events are charged to: its WebSocket connection's bound. */
  budget?: ByteBudget;
  /** Names this operation in logs and in its errors' `extensions.requestId`. */
  requestId: string;
  /**
   * Over HTTP: settles once the operation's response is over (taken whole by
   * the client, or its connection gone), when what it held is given back.
   */
  responseOver?: Promise<void>;
}

/** A context for one operation, with its own DataLoaders. */
export function createContext(
  services: Services,
  auth: Auth,
  clientAddress: string,
  {
    cacheLoaders = true,
    budget,
    requestId = randomUUID(),
    responseOver,
  }: { cacheLoaders?: boolean; budget?: ByteBudget; requestId?: string; responseOver?: Promise<void> } = {},
): Context {
  return {
    services,
    auth,
    clientAddress,
    budget,
    requestId,
    responseOver,
    loaders: createLoaders(services.store, services.presence, { cache: cacheLoaders }),
  };
}
