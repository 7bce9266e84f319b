import { randomBytes } from 'node:crypto';
import { isLogFormat, isLogLevel, type LogFormat, type LogLevel } from './lib/log';
import { MAX_WORKER_ID } from './cluster/ids';

/** Everything the server reads from its environment; `loadConfig` is the only reader. */
export interface Config {
  /** PORT: HTTP and WebSocket port. @default 4000 */
  port: number;
  /** HOST: interface to listen on. @default all interfaces */
  host: string | undefined;
  /** NODE_ENV=development: stack traces and internal messages in error responses. @default false */
  development: boolean;
  /** GRAPHIQL: serve GraphiQL to browsers at GET /graphql. @default true, false when NODE_ENV=production */
  graphiql: boolean;
  /**
   * INTROSPECTION: answer introspection queries; off, error messages suggest none of the schema's
   * names ("Did you mean ...?") either. @default the same as GRAPHIQL
   */
  introspection: boolean;
  /** JWT_SECRET: HMAC key for tokens. @default a random key for this process (tokens die with it) */
  jwtSecret: string;
  /** Whether jwtSecret was generated because JWT_SECRET was unset. */
  jwtSecretGenerated: boolean;
  /** JWT_TTL_SECONDS: token lifetime. @default 604800 (7 days) */
  tokenTtlSeconds: number;
  /**
   * WORKER_ID: Snowflake worker id, unique among running processes.
   * @default leased from Redis when REDIS_URL is set, else 0
   */
  workerId: number | undefined;
  /** LOG_LEVEL: debug, info, warn, error or silent. @default info */
  logLevel: LogLevel;
  /** LOG_FORMAT: json (one object per line) or pretty. @default json when NODE_ENV=production, else pretty */
  logFormat: LogFormat;
  /** CORS_ORIGIN: allowed browser origins, comma-separated, or *. @default * */
  corsOrigins: string[] | '*';
  /** MESSAGE_RATE_BURST / MESSAGE_RATE_PER_SECOND: sendMessage per user. @default 100 / 20 */
  messageRate: { burst: number; perSecond: number };
  /** AUTH_RATE_BURST / AUTH_RATE_PER_SECOND: signUp and logIn per client address. @default 30 / 1 */
  authRate: { burst: number; perSecond: number };
  /**
   * LOGIN_FAILURE_BURST / LOGIN_FAILURE_PER_SECOND: failed logIns per account, from any address,
   * before that account's logIns are refused for a while. @default 10 / 0.0166 (10, then one a minute)
   */
  loginFailureRate: { burst: number; perSecond: number };
  /**
   * TRUST_PROXY: behind a reverse proxy, which hops to trust for the client address in
   * X-Forwarded-For, as Express's "trust proxy" takes it: true, a number of hops, or addresses
   * and subnets (e.g. loopback, 10.0.0.0/8). Only then is X-Forwarded-For read. @default off
   */
  trustProxy: boolean | number | string | undefined;
  /**
   * PASSWORD_HASH_QUEUE: signUps/logIns that may wait for a password hash (4 run at once);
   * more are refused with RATE_LIMITED at once instead of delaying everyone. @default 64
   */
  passwordHashQueue: number;
  /** GROUP_RATE_BURST / GROUP_RATE_PER_SECOND: createGroup and addGroupMembers per user. @default 10 / 0.1 */
  groupRate: { burst: number; perSecond: number };
  /**
   * PUSH_TOKEN_RATE_BURST / PUSH_TOKEN_RATE_PER_SECOND: registerPushToken per user (a device
   * registers at start and when its token changes). @default 10 / 0.1
   */
  pushTokenRate: { burst: number; perSecond: number };
  /**
   * WS_MAX_BUFFERED_BYTES: the most a WebSocket connection may have waiting to be sent (its
   * subscriptions' queued events and the socket's unsent buffer) before it is closed with 1013.
   * @default 8388608 (8 MiB)
   */
  wsMaxBufferedBytes: number;
  /** MAX_SUBSCRIPTIONS_PER_CONNECTION: open subscriptions on one WebSocket. @default 100 */
  maxSubscriptionsPerConnection: number;
  /**
   * MAX_CONNECTIONS_PER_USER: authenticated WebSocket connections of one user at once, on all
   * processes together; past it a new one is closed with 4429. @default 100
   */
  maxConnectionsPerUser: number;
  /**
   * MAX_CONNECTIONS_PER_ADDRESS: authenticated WebSocket connections from one client address at
   * once (see TRUST_PROXY), on all processes together; past it a new one is closed with 4429.
   * Raise it where many users share an address (carrier NAT, an office). @default 1000
   */
  maxConnectionsPerAddress: number;
  /**
   * MAX_SUBSCRIPTIONS_PER_USER: open subscriptions of one user at once, over all their connections
   * and processes; past it a subscribe is answered RATE_LIMITED. @default 1000
   */
  maxSubscriptionsPerUser: number;
  /** MAX_QUERY_FIELDS: fields in one document, fragments expanded. @default 500 */
  maxQueryFields: number;
  /**
   * MAX_QUERY_TOKENS: lexical tokens in one document (names, punctuation, values); the parser
   * stops at the first past it, so that a huge document costs no more than a large one. @default 10000
   */
  maxQueryTokens: number;
  /**
   * MAX_QUERY_COST_BYTES: the largest answer an operation may be able to build,
   * estimated before it runs (page sizes times the largest fields). @default 64000000
   */
  maxQueryCostBytes: number;
  /**
   * MAX_QUERY_COST_BYTES_IN_FLIGHT: what the HTTP operations of one user (of one address when
   * signed out) that are being answered at once may cost together, in MAX_QUERY_COST_BYTES's
   * estimate, from the start of execution until the client has taken the answer. Past it,
   * RATE_LIMITED at once, before any work; one operation alone is always let through.
   * @default 128000000 (two operations at the cost limit, six pages of 50 messages)
   */
  maxQueryCostBytesInFlight: number;
  /**
   * HTTP_WRITE_TIMEOUT_MS: a response whose client takes none of its answer for this long is cut
   * off (its connection closed), so that clients that stop reading hold no memory here. A slow
   * client that keeps reading is not affected. @default 30000
   */
  httpWriteTimeoutMs: number;
  /**
   * HTTP_KEEP_ALIVE_TIMEOUT_MS: how long an idle HTTP connection is kept open for its next
   * request. Behind a proxy or load balancer that reuses its connections to this server, set it
   * above the proxy's own idle timeout (e.g. 65000 behind one of 60 s), or a request it sends
   * as the server closes the connection fails. @default 5000
   */
  httpKeepAliveTimeoutMs: number;
  /** MONGODB_URI: MongoDB connection string; unset means the in-memory store. */
  mongodbUri: string | undefined;
  /**
   * MONGODB_TIMEOUT_MS: how long one MongoDB request may wait for the server
   * (to be reached, to connect, to answer) before it fails with UNAVAILABLE,
   * so that a frozen database cannot hang requests. @default 5000
   */
  mongodbTimeoutMs: number;
  /** MONGODB_DB: database name. @default the one in MONGODB_URI, else "test" */
  mongodbDb: string | undefined;
  /** REDIS_URL: Redis connection string; unset means in-process pub/sub. */
  redisUrl: string | undefined;
  /**
   * REDIS_CLUSTER_NODES: `host:port,host:port,...`, seed nodes of a Redis
   * Cluster (instead of REDIS_URL): pub/sub on shard channels, spread over the masters.
   */
  redisClusterNodes: { host: string; port: number }[] | undefined;
  /**
   * METRICS_PORT: serve GET /metrics on this port (on HOST), alone; the public port then answers
   * 404 there. 0 picks a free port. @default unset: /metrics on the public port, if at all (metricsPublic)
   */
  metricsPort: number | undefined;
  /**
   * METRICS_TOKEN: GET /metrics answers only requests with `Authorization: Bearer <token>`,
   * wherever it is served. At least 16 characters. @default unset: no token asked
   */
  metricsToken: string | undefined;
  /**
   * Whether GET /metrics is served on the public port: not when METRICS_PORT is set; with
   * NODE_ENV=production only when METRICS_TOKEN is set, so that a production server does not
   * show its figures to anyone who asks; otherwise (development, tests) yes, openly.
   */
  metricsPublic: boolean;
  /** PUBLIC_URL: this process's WebSocket URL as clients reach it. @default ws://<host>:<port>/graphql */
  publicUrl: string | undefined;
  /** DISCOVERY_TTL_MS: a server that stops announcing itself is dropped after this long. @default 15000 */
  discoveryTtlMs: number;
  /** PRESENCE_TIMEOUT_MS: users of a process that died are OFFLINE within this long. @default 30000 */
  presenceTimeoutMs: number;
  /** PRESENCE_GRACE_MS: a device reconnecting within this long causes no OFFLINE/ONLINE flapping. @default 3000 */
  presenceGraceMs: number;
  /**
   * Firebase credentials for push: FIREBASE_SERVICE_ACCOUNT (the service-account JSON itself)
   * or GOOGLE_APPLICATION_CREDENTIALS (a path to it). @default none: push is off
   */
  pushCredentials: { serviceAccount: Record<string, unknown> } | { file: string } | null;
}

/** A setting that cannot be used; the message names the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function positive(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be a positive number, got "${raw}"`);
  return value;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (/^(true|1|yes|on)$/i.test(raw)) return true;
  if (/^(false|0|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function pushCredentials(env: Env): Config['pushCredentials'] {
  const json = optional(env, 'FIREBASE_SERVICE_ACCOUNT');
  if (json !== undefined) {
    try {
      const parsed: unknown = JSON.parse(json);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        return { serviceAccount: parsed as Record<string, unknown> };
    } catch {
      // reported below
    }
    throw new ConfigError('FIREBASE_SERVICE_ACCOUNT must be a service-account JSON object');
  }
  const file = optional(env, 'GOOGLE_APPLICATION_CREDENTIALS');
  return file === undefined ? null : { file };
}

/** REDIS_CLUSTER_NODES as host/port pairs; a ConfigError naming the first that is not one. */
function clusterNodes(env: Env): Config['redisClusterNodes'] {
  const raw = optional(env, 'REDIS_CLUSTER_NODES');
  if (raw === undefined) return undefined;
  if (optional(env, 'REDIS_URL') !== undefined) {
    throw new ConfigError(
      'REDIS_CLUSTER_NODES and REDIS_URL are both set: set REDIS_URL for one Redis, or the other for a Redis Cluster',
    );
  }
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((node) => {
      const match = /^([^\s:/]+|\[[0-9a-f:]+\]):(\d{1,5})$/i.exec(node);
      const port = Number(match?.[2]);
      if (!match || port < 1 || port > 65535) {
        throw new ConfigError(`REDIS_CLUSTER_NODES must be host:port pairs separated by commas, got "${node}"`);
      }
      return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
    });
}

/** A connection string of one of `schemes`, checked before anything connects. */
function connectionUrl(env: Env, name: string, schemes: string[], example: string): string | undefined {
  const raw = optional(env, name);
  if (raw === undefined) return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/[^/\s]/i.exec(raw)?.[1]?.toLowerCase();
  if (!scheme || !schemes.includes(scheme)) {
    throw new ConfigError(`${name} must be a ${schemes.map((s) => `${s}://`).join(' or ')} URL such as ${example}`);
  }
  return raw;
}

function trustProxy(env: Env): Config['trustProxy'] {
  const raw = optional(env, 'TRUST_PROXY');
  if (raw === undefined || raw === 'false') return undefined;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  if (!/^[\w.:/,\s]+$/.test(raw)) {
    throw new ConfigError(`TRUST_PROXY must be true, a number of hops, or addresses/subnets, got "${raw}"`);
  }
  return raw;
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
  return {
    port,
    host: optional(env, 'HOST'),
    development: env.NODE_ENV === 'development',
    graphiql,
    introspection: flag(env, 'INTROSPECTION', graphiql),
    jwtSecret: secret ?? randomBytes(32).toString('base64url'),
    jwtSecretGenerated: secret === undefined,
    tokenTtlSeconds: integer(env, 'JWT_TTL_SECONDS', 7 * 24 * 3600, 1, 365 * 24 * 3600),
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
    wsMaxBufferedBytes: integer(env, 'WS_MAX_BUFFERED_BYTES', 8 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
    maxSubscriptionsPerConnection: integer(env, 'MAX_SUBSCRIPTIONS_PER_CONNECTION', 100, 1, 10_000),
    maxConnectionsPerUser: integer(env, 'MAX_CONNECTIONS_PER_USER', 100, 1, 10_000_000),
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
  };
}
