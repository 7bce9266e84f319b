import type { RedisClient } from '../lib/redis';
import { defaultScryptParams, type ScryptParams } from '../auth/passwords';
import { createMemoryRevocations } from '../auth/revocations/memory';
import type { Revocations } from '../auth/revocations/revocations';
import { createRedisRevocations } from '../auth/revocations/redis';
import { createSessions, type Sessions } from '../auth/sessions';
import { createTokenService, type TokenService } from '../auth/tokens';
import type { Discovery } from '../cluster/discovery/discovery';
import { createMemoryDiscovery } from '../cluster/discovery/memory';
import { createRedisDiscovery } from '../cluster/discovery/redis';
import { createIdGenerator, type IdGenerator } from '../cluster/ids';
import type { Config } from '../config';
import { limits } from '../contract/limits';
import { createLogger, type Logger } from '../lib/log';
import { createLocalMediaStore } from '../media/local';
import type { MediaStore } from '../media/media';
import { createConcurrencyLimit, type ConcurrencyLimit } from '../lib/concurrency';
import { createMemoryFlags, createRedisFlags, type Flags } from '../lib/flags';
import { createMemorySlots, createRedisSlots, type Slots } from '../lib/slots';
import { createRateLimiter, type RateLimiter } from '../lib/rateLimit';
import { publishPresence } from '../presence/events';
import { createMemoryPresence } from '../presence/memory';
import type { PresenceOptions, PresenceTracker } from '../presence/presence';
import { createRedisPresence } from '../presence/redis';
import type { PubSub } from '../pubsub/pubsub';
import { createPushNotifier, type PushNotifier, type PushNotifierOptions, type PushSender } from '../push/notifier';
import { createMetrics, type Metrics } from './metrics';
import type { Store } from '../store/store';

/** What every operation may use; built once per process by `createServices`. */
export interface Services {
  config: Config;
  store: Store;
  pubsub: PubSub;
  /** Media blobs: S3, or the local directory this server serves. */
  media: MediaStore;
  ids: IdGenerator;
  tokens: TokenService;
  /** Ended sessions and tokens revoked alone, refused until their tokens would have expired anyway. */
  revocations: Revocations;
  /** Signed-in devices: start, renew, list, end. */
  sessions: Sessions;
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
    /** reportMessage and reportUser per user. */
    reports: RateLimiter;
    /** createUpload per user. */
    uploads: RateLimiter;
    /** exportMyData per user. */
    exports: RateLimiter;
    /** Bytes declared in createUpload per user and day (spent by the byte). */
    uploadBytes: RateLimiter;
  };
  /** Images decoded and encoded at once (sharp runs them on libuv's threads); more wait, and past a bound are refused. */
  imageProcessing: ConcurrencyLimit;
  /** Data exports written at once (each pages through a user's conversations); more wait, and past a bound are refused. */
  dataExports: ConcurrencyLimit;
  /** Whose typing indicator is up, by `userId:conversationId`: a stop is announced only after a start. */
  typingShown: Flags;
  /** Holders of capped things at once (connections per user and address, subscriptions per user). */
  slots: Slots;
  /** Password hashes computed at once; more wait, and past a bound are refused. */
  passwordHashing: ConcurrencyLimit;
  metrics: Metrics;
  now: () => Date;
  /** Called after each step of an account deletion, with how many this process has done; a test's fault injection. */
  afterDeletionStep?: (steps: number) => void;
}

/** What the services of one process are built from; everything but config, store and pubsub has a default. */
export interface ServiceOptions {
  config: Config;
  store: Store;
  pubsub: PubSub;
  /**
   * The general-purpose Redis connection, when there is Redis: presence and
   * discovery then work across processes. @default null: this process alone
   */
  redis?: RedisClient | null;
  /** @default the local directory config.mediaDir, served by this server (openBackends builds S3's) */
  media?: MediaStore;
  /** @default a logger at config.logLevel */
  log?: Logger;
  /** Password hashing cost. @default defaultScryptParams */
  passwordParams?: ScryptParams;
  /**
   * Makes the presence tracker, given where to report status changes.
   * @default in Redis when `redis` is given, else within this process
   */
  presence?: (options: PresenceOptions) => PresenceTracker;
  /** Where clients should connect. @default in Redis when `redis` is given, else this process alone */
  discovery?: Discovery;
  /**
   * Sends push notifications to members with no device online; main.ts builds
   * it with `createPushSender` (FCM when config has credentials). @default off
   */
  pushSender?: PushSender | null;
  /** Bounds of the push queue. @default createPushNotifier's */
  pushLimits?: Pick<PushNotifierOptions, 'maxPending' | 'concurrency' | 'sendTimeoutMs'>;
  /** The clock. @default () => new Date() */
  now?: () => Date;
  /** See Services.afterDeletionStep. @default nothing */
  afterDeletionStep?: (steps: number) => void;
}

/** Builds every service of one process once: the one place each feature is wired. */
export function createServices(options: ServiceOptions): Services {
  const { config, store, pubsub, redis = null } = options;
  const log = options.log ?? createLogger(config.logLevel, { format: config.logFormat });
  const makePresence =
    options.presence ??
    (redis
      ? (o: PresenceOptions) => createRedisPresence(redis, { ...o, timeoutMs: config.presenceTimeoutMs, log })
      : createMemoryPresence);
  const presence = makePresence({
    graceMs: config.presenceGraceMs,
    // Fanned out to friends' pair channels; a failure only costs that announcement.
    onChange: (record) =>
      void publishPresence(store, pubsub, record).catch((error) => log.warn('presence fan-out failed', error)),
  });
  const tokens = createTokenService(config.jwtSecret, config.accessTokenTtlSeconds);
  const revocations = redis ? createRedisRevocations(redis, { log }) : createMemoryRevocations();
  const now = options.now ?? (() => new Date());
  return {
    config,
    store,
    pubsub,
    media:
      options.media ??
      createLocalMediaStore({ dir: config.mediaDir, secret: config.mediaSecret, origin: config.mediaPublicUrl }),
    log,
    ids: createIdGenerator({ workerId: config.workerId ?? 0 }),
    tokens,
    revocations,
    sessions: createSessions({
      store,
      tokens,
      revocations,
      pubsub,
      log,
      refreshTtlSeconds: config.refreshTokenTtlSeconds,
      maxSessions: config.maxSessionsPerUser,
      now,
    }),
    presence,
    push: createPushNotifier({ store, presence, sender: options.pushSender ?? null, log, ...options.pushLimits }),
    discovery:
      options.discovery ??
      (redis ? createRedisDiscovery(redis, { ttlMs: config.discoveryTtlMs, log }) : createMemoryDiscovery()),
    passwordParams: options.passwordParams ?? defaultScryptParams,
    // Shared by every process through Redis when there is Redis.
    limiters: {
      messages: createRateLimiter({ ...config.messageRate, name: 'messages', redis }),
      auth: createRateLimiter({ ...config.authRate, name: 'auth', redis }),
      groups: createRateLimiter({ ...config.groupRate, name: 'groups', redis }),
      pushTokens: createRateLimiter({ ...config.pushTokenRate, name: 'push-tokens', redis }),
      loginFailures: createRateLimiter({ ...config.loginFailureRate, name: 'login-failures', redis }),
      typing: createRateLimiter({ burst: 1, perSecond: 1 / limits.typingRenewSeconds, name: 'typing', redis }),
      reports: createRateLimiter({ ...config.reportRate, name: 'reports', redis }),
      uploads: createRateLimiter({ ...config.uploadRate, name: 'uploads', redis }),
      exports: createRateLimiter({ ...config.exportRate, name: 'exports', redis }),
      uploadBytes: createRateLimiter({
        burst: config.uploadBytesPerDay,
        perSecond: config.uploadBytesPerDay / 86_400,
        name: 'upload-bytes',
        redis,
      }),
    },
    imageProcessing: createConcurrencyLimit({ concurrency: 2, maxWaiting: config.imageQueue }),
    dataExports: createConcurrencyLimit({ concurrency: 2, maxWaiting: 16 }),
    typingShown: redis ? createRedisFlags(redis, { name: 'typing' }) : createMemoryFlags({ name: 'typing' }),
    slots: redis
      ? createRedisSlots(redis, { name: 'ws', timeoutMs: config.presenceTimeoutMs, log })
      : createMemorySlots(),
    // scrypt runs on libuv's 4 threads: more at once only queue there, unseen and unbounded.
    passwordHashing: createConcurrencyLimit({ concurrency: 4, maxWaiting: config.passwordHashQueue }),
    metrics: createMetrics({ pubsubReconnects: () => pubsub.reconnects() }),
    now,
    afterDeletionStep: options.afterDeletionStep,
  };
}
