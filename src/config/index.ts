import { createHmac, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLogFormat, isLogLevel } from '../lib/log';
import { MAX_WORKER_ID } from '../cluster/ids';
import { limits } from '../contract/limits';

import type { Config } from './config';
import {
  clusterNodes,
  ConfigError,
  connectionUrl,
  flag,
  integer,
  optional,
  positive,
  pushCredentials,
  s3Settings,
  trustProxy,
  type Env,
} from './env';

export type { Config } from './config';
export { ConfigError } from './env';

/** ACCESS_TOKEN_TTL_SECONDS, or its older name JWT_TTL_SECONDS; both set must agree. */
function accessTokenTtl(env: Env): number {
  const [name, alias] = ['ACCESS_TOKEN_TTL_SECONDS', 'JWT_TTL_SECONDS'];
  const value = integer(env, name, 900, 1, 365 * 24 * 3600);
  if (optional(env, alias) === undefined) return value;
  const aliased = integer(env, alias, 900, 1, 365 * 24 * 3600);
  if (optional(env, name) !== undefined && aliased !== value) {
    throw new ConfigError(`${alias} is the older name of ${name}: set one of them, not both to different values`);
  }
  return aliased;
}

/** OPERATORS: lowercase usernames, each a valid one. */
function operators(env: Env): string[] {
  const names = (optional(env, 'OPERATORS') ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  for (const name of names) {
    if (!limits.usernamePattern.test(name)) {
      throw new ConfigError(`OPERATORS must be usernames separated by commas, got "${name}"`);
    }
  }
  return [...new Set(names)];
}

/** Reads and checks the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env): Config {
  const secret = optional(env, 'JWT_SECRET');
  if (secret !== undefined && secret.length < 32) {
    throw new ConfigError('JWT_SECRET must be at least 32 characters long');
  }
  const logLevel = optional(env, 'LOG_LEVEL') ?? 'info';
  if (!isLogLevel(logLevel))
    throw new ConfigError(`LOG_LEVEL must be debug, info, warn, error or silent, got "${logLevel}"`);
  const logFormat = optional(env, 'LOG_FORMAT') ?? (env.NODE_ENV === 'production' ? 'json' : 'pretty');
  if (!isLogFormat(logFormat)) throw new ConfigError(`LOG_FORMAT must be json or pretty, got "${logFormat}"`);
  const graphiql = flag(env, 'GRAPHIQL', env.NODE_ENV !== 'production');
  const cors = optional(env, 'CORS_ORIGIN') ?? '*';
  const port = integer(env, 'PORT', 4000, 0, 65535);
  const metricsPort =
    optional(env, 'METRICS_PORT') === undefined ? undefined : integer(env, 'METRICS_PORT', 0, 0, 65535);
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port) {
    throw new ConfigError(`METRICS_PORT must differ from PORT (both ${port}): metrics get a listener of their own`);
  }
  const metricsToken = optional(env, 'METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError('METRICS_TOKEN must be at least 16 characters long');
  }
  const jwtSecret = secret ?? randomBytes(32).toString('base64url');
  const mediaSecret = optional(env, 'MEDIA_SECRET');
  if (mediaSecret !== undefined && mediaSecret.length < 32) {
    throw new ConfigError('MEDIA_SECRET must be at least 32 characters long');
  }
  const config: Config = {
    port,
    host: optional(env, 'HOST'),
    development: env.NODE_ENV === 'development',
    graphiql,
    introspection: flag(env, 'INTROSPECTION', graphiql),
    jwtSecret,
    jwtSecretGenerated: secret === undefined,
    accessTokenTtlSeconds: accessTokenTtl(env),
    refreshTokenTtlSeconds: integer(env, 'REFRESH_TOKEN_TTL_SECONDS', 30 * 24 * 3600, 1, 365 * 24 * 3600),
    workerId: env.WORKER_ID?.trim() ? integer(env, 'WORKER_ID', 0, 0, MAX_WORKER_ID) : undefined,
    logLevel,
    logFormat,
    corsOrigins:
      cors === '*'
        ? '*'
        : cors
            .split(',')
            .map((o) => o.trim())
            .filter(Boolean),
    messageRate: {
      burst: integer(env, 'MESSAGE_RATE_BURST', 100, 1, 1_000_000),
      perSecond: positive(env, 'MESSAGE_RATE_PER_SECOND', 20),
    },
    authRate: {
      burst: integer(env, 'AUTH_RATE_BURST', 30, 1, 1_000_000),
      perSecond: positive(env, 'AUTH_RATE_PER_SECOND', 1),
    },
    loginFailureRate: {
      burst: integer(env, 'LOGIN_FAILURE_BURST', 10, 1, 1_000_000),
      perSecond: positive(env, 'LOGIN_FAILURE_PER_SECOND', 1 / 60),
    },
    trustProxy: trustProxy(env),
    passwordHashQueue: integer(env, 'PASSWORD_HASH_QUEUE', 64, 0, 1_000_000),
    groupRate: {
      burst: integer(env, 'GROUP_RATE_BURST', 10, 1, 1_000_000),
      perSecond: positive(env, 'GROUP_RATE_PER_SECOND', 0.1),
    },
    pushTokenRate: {
      burst: integer(env, 'PUSH_TOKEN_RATE_BURST', 10, 1, 1_000_000),
      perSecond: positive(env, 'PUSH_TOKEN_RATE_PER_SECOND', 0.1),
    },
    reportRate: {
      burst: integer(env, 'REPORT_RATE_BURST', 10, 1, 1_000_000),
      perSecond: positive(env, 'REPORT_RATE_PER_SECOND', 0.01),
    },
    exportRate: {
      burst: integer(env, 'EXPORT_RATE_BURST', 1, 1, 1_000_000),
      perSecond: positive(env, 'EXPORT_RATE_PER_SECOND', 1 / 600),
    },
    operators: operators(env),
    wsMaxBufferedBytes: integer(env, 'WS_MAX_BUFFERED_BYTES', 8 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
    maxSubscriptionsPerConnection: integer(env, 'MAX_SUBSCRIPTIONS_PER_CONNECTION', 100, 1, 10_000),
    maxConnectionsPerUser: integer(env, 'MAX_CONNECTIONS_PER_USER', 100, 1, 10_000_000),
    maxSessionsPerUser: integer(env, 'MAX_SESSIONS_PER_USER', limits.sessionsMax, 1, limits.sessionsMax),
    maxConnectionsPerAddress: integer(env, 'MAX_CONNECTIONS_PER_ADDRESS', 1000, 1, 10_000_000),
    maxSubscriptionsPerUser: integer(env, 'MAX_SUBSCRIPTIONS_PER_USER', 1000, 1, 10_000_000),
    maxQueryFields: integer(env, 'MAX_QUERY_FIELDS', 500, 10, 100_000),
    maxQueryTokens: integer(env, 'MAX_QUERY_TOKENS', 10_000, 100, 10_000_000),
    maxQueryCostBytes: integer(env, 'MAX_QUERY_COST_BYTES', 64_000_000, 100_000, 10_000_000_000),
    maxQueryCostBytesInFlight: integer(env, 'MAX_QUERY_COST_BYTES_IN_FLIGHT', 128_000_000, 100_000, 100_000_000_000),
    httpWriteTimeoutMs: integer(env, 'HTTP_WRITE_TIMEOUT_MS', 30_000, 100, 3_600_000),
    httpKeepAliveTimeoutMs: integer(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 5000, 100, 3_600_000),
    mongodbUri: connectionUrl(env, 'MONGODB_URI', ['mongodb', 'mongodb+srv'], 'mongodb://localhost:27017'),
    mongodbDb: optional(env, 'MONGODB_DB'),
    mongodbTimeoutMs: integer(env, 'MONGODB_TIMEOUT_MS', 5000, 100, 600_000),
    redisUrl: connectionUrl(env, 'REDIS_URL', ['redis', 'rediss'], 'redis://localhost:6379'),
    redisClusterNodes: clusterNodes(env),
    metricsPort,
    metricsToken,
    metricsPublic: metricsPort === undefined && (env.NODE_ENV !== 'production' || metricsToken !== undefined),
    publicUrl: optional(env, 'PUBLIC_URL'),
    discoveryTtlMs: integer(env, 'DISCOVERY_TTL_MS', 15_000, 300, 3_600_000),
    presenceTimeoutMs: integer(env, 'PRESENCE_TIMEOUT_MS', 30_000, 300, 3_600_000),
    presenceGraceMs: integer(env, 'PRESENCE_GRACE_MS', 3000, 0, 600_000),
    pushCredentials: pushCredentials(env),
    s3: s3Settings(env),
    maxUploadBytes: integer(env, 'MAX_UPLOAD_BYTES', 100 * 1024 * 1024, 1, 2 ** 31 - 1),
    uploadRate: {
      burst: integer(env, 'UPLOAD_RATE_BURST', 30, 1, 1_000_000),
      perSecond: positive(env, 'UPLOAD_RATE_PER_SECOND', 0.5),
    },
    uploadBytesPerDay: integer(env, 'UPLOAD_BYTES_PER_DAY', 2 * 1024 ** 3, 1, 1024 ** 5),
    imageQueue: integer(env, 'IMAGE_QUEUE', 16, 0, 10_000),
    mediaDir: optional(env, 'MEDIA_DIR') ?? join(tmpdir(), 'chat-api-media'),
    // A key of its own for media URLs, so that one can never stand for the other's signature.
    mediaSecret: mediaSecret ?? createHmac('sha256', jwtSecret).update('chat-api media URLs').digest('base64url'),
    mediaPublicUrl: connectionUrl(env, 'MEDIA_PUBLIC_URL', ['http', 'https'], 'https://chat.example.com'),
  };
  sharedDeliveryNeedsSharedStore(env, config);
  return config;
}

/**
 * Redis without MongoDB would share delivery between processes that each keep
 * their own users and messages in memory, which no deployment means; a single
 * process doing so (the benches measure Redis delivery that way) says so.
 */
function sharedDeliveryNeedsSharedStore(env: Env, config: Config): void {
  if (config.mongodbUri !== undefined || flag(env, 'MEMORY_STORE_WITH_REDIS', false)) return;
  const variable = config.redisClusterNodes ? 'REDIS_CLUSTER_NODES' : config.redisUrl ? 'REDIS_URL' : null;
  if (variable === null) return;
  throw new ConfigError(
    `${variable} is set without MONGODB_URI: every process would keep its own users and messages in memory ` +
      'while sharing delivery. Set MONGODB_URI too (or, for one process alone, MEMORY_STORE_WITH_REDIS=true).',
  );
}
