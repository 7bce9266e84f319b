import type { LogFormat, LogLevel } from '../lib/log';
import type { S3Settings } from '../media/s3';

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
  /**
   * ACCESS_TOKEN_TTL_SECONDS (or its older name JWT_TTL_SECONDS): how long an
   * access token lives; a client renews it with its refresh token. @default 900
   */
  accessTokenTtlSeconds: number;
  /**
   * REFRESH_TOKEN_TTL_SECONDS: how long a refresh token lives unused; each
   * renewal gives a new one that lives this long again. @default 2592000 (30 days)
   */
  refreshTokenTtlSeconds: number;
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
   * REPORT_RATE_BURST / REPORT_RATE_PER_SECOND: reportMessage and reportUser per user.
   * @default 10 / 0.01 (10, then one every 100 s)
   */
  reportRate: { burst: number; perSecond: number };
  /**
   * EXPORT_RATE_BURST / EXPORT_RATE_PER_SECOND: exportMyData per user (each export reads all of the
   * user's conversations). @default 1 / 0.0016667 (one every 10 minutes)
   */
  exportRate: { burst: number; perSecond: number };
  /**
   * OPERATORS: usernames (comma-separated) of the accounts that read reports and suspend
   * accounts. @default none
   */
  operators: string[];
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
   * MAX_SESSIONS_PER_USER: live sessions (signed-in devices) of one user; signing in past it ends the
   * least recently used. At most limits.sessionsMax, which bounds what `sessions` answers. @default 100
   */
  maxSessionsPerUser: number;
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
  /**
   * Media in an S3-compatible bucket: S3_BUCKET, S3_REGION, S3_ACCESS_KEY_ID and
   * S3_SECRET_ACCESS_KEY (all four or none), S3_ENDPOINT (unset: AWS S3) and S3_FORCE_PATH_STYLE.
   * @default null: media in MEDIA_DIR, served by this server
   */
  s3: S3Settings | null;
  /** MAX_UPLOAD_BYTES: the largest file createUpload accepts. @default 104857600 (100 MB) */
  maxUploadBytes: number;
  /** UPLOAD_RATE_BURST / UPLOAD_RATE_PER_SECOND: createUpload per user. @default 30 / 0.5 */
  uploadRate: { burst: number; perSecond: number };
  /** UPLOAD_BYTES_PER_DAY: bytes one user may declare in createUpload per day. @default 2147483648 (2 GiB) */
  uploadBytesPerDay: number;
  /**
   * IMAGE_QUEUE: images waiting for processing (two are processed at once per process); more
   * are refused with RATE_LIMITED. @default 16
   */
  imageQueue: number;
  /** MEDIA_DIR: where media are kept without S3. @default chat-api-media under the OS's temporary directory */
  mediaDir: string;
  /**
   * MEDIA_SECRET: the key media URLs served by this server are signed with, at least 32 characters.
   * @default derived from JWT_SECRET (random with it when JWT_SECRET is unset)
   */
  mediaSecret: string;
  /**
   * MEDIA_PUBLIC_URL: where clients reach this server's /media URLs, e.g. https://chat.example.com
   * behind a proxy. @default http://<host>:<port> of this process
   */
  mediaPublicUrl: string | undefined;
}
