/**
 * Prometheus metrics (prom-client), served as text at GET /metrics. Each
 * server has its own registry, so that several servers in one process (the
 * tests) do not share counters.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The service's metrics, updated where each thing happens. */
export interface Metrics {
  registry: Registry;
  /** Open, authenticated WebSocket connections. */
  connections: Gauge;
  /** Running subscriptions, by root field. */
  subscriptions: Gauge<'field'>;
  /** Messages stored by sendMessage (retries that stored nothing are not counted). */
  messagesSent: Counter;
  /** Messages handed to subscriptions (one per subscriber per message). */
  deliveries: Counter;
  /** From the start of sendMessage to its publish having been handed to the pub/sub. */
  sendToPublishSeconds: Histogram;
  /** Errors answered to clients, by contract code. */
  errors: Counter<'code'>;
  /** Requests refused by a rate limit, by limit. */
  rateLimited: Counter<'limit'>;
  /** Reports filed, by what was reported (message, user). */
  reports: Counter<'kind'>;
  /** Accounts suspended by operators. */
  suspensions: Counter;
  /** Account deletions finished by this process. */
  accountDeletions: Counter;
}

/** Options of `createMetrics`. */
export interface MetricsOptions {
  /** Times the pub/sub's connection came back after dropping, read at each scrape. */
  pubsubReconnects: () => number;
  /** Node's process metrics (CPU, memory, event loop lag, GC). @default true */
  processMetrics?: boolean;
}

/** A registry with every metric of the service. */
export function createMetrics({ pubsubReconnects, processMetrics = true }: MetricsOptions): Metrics {
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry, prefix: 'chat_' });
  let reportedReconnects = 0;
  new Counter({
    name: 'chat_pubsub_reconnects_total',
    help: 'Times the pub/sub connection came back after dropping (subscribers then catch up from the store).',
    registers: [registry],
    collect() {
      const now = pubsubReconnects();
      if (now > reportedReconnects) this.inc(now - reportedReconnects);
      reportedReconnects = now;
    },
  });
  return {
    registry,
    connections: new Gauge({
      name: 'chat_ws_connections',
      help: 'Open, authenticated WebSocket connections.',
      registers: [registry],
    }),
    subscriptions: new Gauge({
      name: 'chat_subscriptions',
      help: 'Running subscriptions, by root field.',
      labelNames: ['field'],
      registers: [registry],
    }),
    messagesSent: new Counter({
      name: 'chat_messages_sent_total',
      help: 'Messages stored by sendMessage.',
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'chat_deliveries_total',
      help: 'Messages handed to subscriptions, one per subscriber and message.',
      registers: [registry],
    }),
    sendToPublishSeconds: new Histogram({
      name: 'chat_send_to_publish_seconds',
      help: 'From the start of sendMessage to its publish having been handed to the pub/sub.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'chat_errors_total',
      help: 'Errors answered to clients, by code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'chat_rate_limited_total',
      help: 'Requests refused by a rate limit, by limit.',
      labelNames: ['limit'],
      registers: [registry],
    }),
    reports: new Counter({
      name: 'chat_reports_total',
      help: 'Reports filed by users, by what was reported (message, user).',
      labelNames: ['kind'],
      registers: [registry],
    }),
    suspensions: new Counter({
      name: 'chat_suspensions_total',
      help: 'Accounts suspended by operators.',
      registers: [registry],
    }),
    accountDeletions: new Counter({
      name: 'chat_account_deletions_total',
      help: 'Account deletions finished (every step done) by this process.',
      registers: [registry],
    }),
  };
}
