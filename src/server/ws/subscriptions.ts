import {
  getOperationAST,
  GraphQLError,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { LRUCache } from 'lru-cache';
import { ErrorCode, parseFailed, tooManySubscriptions, validationFailed } from '../../contract/errors';
import type { Release } from '../../lib/slots';
import type { Services } from '../../app/services';
import { createContext, type Context } from '../../resolvers/context';
import type { Admission } from './admission';
import { operationCost } from '../../execution/costModel';
import type { DeliveryTarget, SharedPlan } from '../../execution/sharedDelivery';
import type { ConnectionContext, Viewer } from './connections';

/**
 * The context of a subscription: the operation's, plus how its events are
 * shared when its selection is the same for every viewer.
 */
export interface SubscriptionContext extends Context {
  shared?: { plan: SharedPlan; target: DeliveryTarget };
}

/**
 * The cache of parsed and validated subscription documents: subscribers mostly
 * send the same few short texts. Only documents that passed are kept, only
 * texts up to a few KiB, and the texts kept add up to a bound, so that no
 * client can fill the cache with large or broken documents.
 */
const DOCUMENT_CACHE = { maxEntries: 1000, maxTextChars: 16 * 1024, maxTotalChars: 1024 * 1024 };

/** The first root field an operation selects (a subscription has exactly one). */
function rootField(document: DocumentNode, operationName: string | null | undefined): string {
  const selection = getOperationAST(document, operationName)?.selectionSet.selections[0];
  return selection?.kind === Kind.FIELD ? selection.name.value : 'unknown';
}

/** Options of `createSubscriptionAdmission`. */
export interface SubscriptionAdmissionOptions {
  schema: GraphQLSchema;
  services: Services;
  /** Every rule a document must pass, graphql's own included. */
  rules: readonly ValidationRule[];
  /** The client's address of a connection, for per-client limits. */
  clientAddress: (ctx: ConnectionContext) => string;
  /** The shared-delivery plan of a document, or null when its selection reads the viewer. */
  planOf: (document: DocumentNode, operationName: string | null | undefined) => SharedPlan | null;
  /** The per-user cap on subscriptions. */
  admission: Admission;
}

/**
 * What a subscribe must pass before it runs, in order: the connection's and
 * the user's caps on open subscriptions, a document that parses (within the
 * token bound) and validates, an answer that cannot cost more than the limit.
 * Then its context, built fresh, with the shared-delivery plan when it has one.
 * Also keeps the running subscriptions, for the gauge and to give each one's
 * place back when it ends.
 */
export function createSubscriptionAdmission(options: SubscriptionAdmissionOptions) {
  const { schema, services, rules, clientAddress, planOf, admission } = options;
  const { config, log, metrics } = services;
  const documents = new LRUCache<string, DocumentNode>({
    max: DOCUMENT_CACHE.maxEntries,
    maxSize: DOCUMENT_CACHE.maxTotalChars,
    maxEntrySize: DOCUMENT_CACHE.maxTextChars,
    sizeCalculation: (_document, query) => query.length,
  });
  /** Each running subscription's root field, by connection and id, and its place under the user's cap. */
  const running = new WeakMap<ConnectionContext, Map<string, { field: string; release: Release }>>();

  /** The document of a query text, parsed (within the token bound) and validated, or what is wrong with it. */
  function documentOf(query: string): DocumentNode | readonly GraphQLError[] {
    const known = documents.get(query);
    if (known) return known;
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: config.maxQueryTokens });
    } catch (error) {
      return [parseFailed(error instanceof Error ? error.message : 'Syntax error')];
    }
    const errors = validate(schema, document, rules);
    if (errors.length > 0) return errors.map((e) => validationFailed(e.message));
    documents.set(query, document);
    return document;
  }

  const started = (ctx: ConnectionContext, id: string, field: string, release: Release) => {
    let mine = running.get(ctx);
    if (!mine) running.set(ctx, (mine = new Map()));
    if (mine.has(id)) return release();
    mine.set(id, { field, release });
    metrics.subscriptions.inc({ field });
  };

  return {
    /** onSubscribe: the arguments to execute with, or the errors that refuse it. */
    async admit(
      ctx: ConnectionContext,
      viewer: Viewer,
      id: string,
      payload: SubscribePayload,
      isOpen: () => boolean,
    ): Promise<ExecutionArgs | readonly GraphQLError[]> {
      // ctx.subscriptions already holds this one.
      const max = config.maxSubscriptionsPerConnection;
      if (Object.keys(ctx.subscriptions).length > max) return [tooManySubscriptions(max)];
      const document = documentOf(payload.query);
      if (!('kind' in document)) return document;
      const { operationName, variables } = payload;
      const tooCostly = operationCost({ schema, document, operationName, variables }, config.maxQueryCostBytes).error;
      if (tooCostly) return [tooCostly];
      const place = await admission.subscription(viewer.claims.userId);
      if (!place) {
        metrics.rateLimited.inc({ limit: 'subscriptions' });
        return [tooManySubscriptions(config.maxSubscriptionsPerUser, 'user')];
      }
      // Completed, or the connection closed, while it waited for its place.
      if (!(id in ctx.subscriptions) || !isOpen()) {
        place();
        return [
          new GraphQLError('Subscription ended before it started', { extensions: { code: ErrorCode.BadUserInput } }),
        ];
      }
      const requestId = `${viewer.connectionId}/${id}`;
      const contextValue: SubscriptionContext = createContext(services, viewer.claims, clientAddress(ctx), {
        cacheLoaders: false,
        budget: viewer.budget,
        requestId,
      });
      const plan = planOf(document, operationName);
      if (plan) contextValue.shared = { plan, target: { id, socket: ctx.extra.socket, budget: viewer.budget } };
      const field = rootField(document, operationName);
      started(ctx, id, field, place);
      if (log.debugEnabled) log.debug('subscription started', { requestId, field, shared: plan !== null });
      return { schema, document, operationName, variableValues: variables, contextValue };
    },

    /** A subscription ended (every one of the connection's, without `id`): its place and gauge given back. */
    ended(ctx: ConnectionContext, requestIdOf: (id: string) => string, id?: string): void {
      const mine = running.get(ctx);
      for (const [key, { field, release }] of mine ?? []) {
        if (id !== undefined && key !== id) continue;
        mine!.delete(key);
        release();
        metrics.subscriptions.dec({ field });
        if (log.debugEnabled) log.debug('subscription ended', { requestId: requestIdOf(key), field });
      }
    },
  };
}
