import {
  createSourceEventStream,
  execute,
  getOperationAST,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  BREAK,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import type { Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import type { ByteBudget } from '../lib/byteBudget';
import { createWriteCoalescer } from '../lib/coalesce';

/** How the events of one subscription are shared: by the document and the variables its selection reads. */
export interface SharedPlan {
  /** Names of the variables read below the subscription field (by @include, @skip or field arguments). */
  readonly selectionVariables: readonly string[];
  /** Distinguishes documents that select the same way from those that do not. */
  readonly id: string;
}

/** Where a subscription's frames go. */
export interface DeliveryTarget {
  /** The subscription's id on its connection. */
  id: string;
  socket: WebSocket;
  /** The connection's bound on unsent bytes. */
  budget: ByteBudget;
}

/** Options of `createSharedDelivery`. */
export interface SharedDeliveryOptions {
  schema: GraphQLSchema;
  /** `Type.field` names whose value is the same for every viewer (resolvers/shared.ts). */
  sharedFields: ReadonlySet<string>;
  /** A context for one shared execution: it has no viewer. */
  createContext: () => unknown;
  /** The result as the client is to see it (errors formatted). */
  formatResult: (result: ExecutionResult) => unknown;
}

/** Past this many unsent bytes on the socket, a subscription waits for them to be written before sending more. */
const PACING_BYTES = 64 * 1024;

const DONE: IteratorResult<never> = { value: undefined, done: true };

const isPromise = <T>(value: T | Promise<T>): value is Promise<T> =>
  typeof (value as { then?: unknown } | null)?.then === 'function';

/**
 * Execute once, serialise once. Subscriptions whose selection reads nothing
 * that depends on the viewer (see `sharedFields`) are not executed per
 * subscriber: for each event (one record object, shared by every local
 * subscriber that receives it), the first subscriber to need it executes
 * the selection and serialises the result; every other subscriber with the
 * same document and selection variables writes the same text, framed with
 * its own subscription id, straight to its socket.
 *
 * Results are kept per event object in a WeakMap, so they live exactly as
 * long as the event does. Selections that reach a viewer-dependent field get
 * no plan and are executed per subscriber by graphql's own `subscribe`.
 */
export function createSharedDelivery(options: SharedDeliveryOptions) {
  const { schema, sharedFields } = options;
  /** Plans by document (server/ws/subscriptions.ts keeps one document per query text) and operation name. */
  const plans = new WeakMap<DocumentNode, Map<string, SharedPlan | null>>();
  let planCount = 0;
  const deliveries: Deliveries = { payloadFor: createResultCache(options), coalescer: createWriteCoalescer() };

  return {
    /** The plan of a parsed and validated subscription document, or null; worked out once per document. */
    plan(document: DocumentNode, operationName: string | null | undefined): SharedPlan | null {
      let byOperation = plans.get(document);
      if (!byOperation) plans.set(document, (byOperation = new Map()));
      let plan = byOperation.get(operationName ?? '');
      if (plan === undefined) {
        plan = analyse(schema, sharedFields, document, operationName, `p${planCount++}`);
        byOperation.set(operationName ?? '', plan);
      }
      return plan;
    },

    /** graphql-ws's `subscribe` for a subscription with a plan: its events are written to `target`. */
    async subscribe(args: ExecutionArgs, plan: SharedPlan, target: DeliveryTarget) {
      const source = await createSourceEventStream(args);
      if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
      const iterator = (source as AsyncIterable<object>)[Symbol.asyncIterator]();
      return deliver(deliveries, iterator, sharingKey(plan, args.variableValues), args, target);
    },
  };
}

/** The plan of a document, or null when its selection depends on the viewer. */
function analyse(
  schema: GraphQLSchema,
  sharedFields: ReadonlySet<string>,
  document: DocumentNode,
  operationName: string | null | undefined,
  id: string,
): SharedPlan | null {
  const operation = getOperationAST(document, operationName);
  if (!operation || operation.operation !== 'subscription') return null;
  const subscriptionType = schema.getSubscriptionType();
  const typeInfo = new TypeInfo(schema);
  const variables = new Set<string>();
  let shared = true;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (node.name.value === '__typename') return;
        const parent = typeInfo.getParentType();
        if (!parent || !sharedFields.has(`${parent.name}.${node.name.value}`)) {
          shared = false;
          return BREAK;
        }
      },
      // The subscription field's own arguments choose the events, not what each event looks like.
      Argument: () => (typeInfo.getParentType() === subscriptionType ? false : undefined),
      VariableDefinition: () => false,
      Variable(node) {
        variables.add(node.name.value);
      },
    }),
  );
  return shared ? { id, selectionVariables: [...variables].sort() } : null;
}

/** What a subscriber's events are shared by: its plan and the values of the variables the selection reads. */
function sharingKey(plan: SharedPlan, variables: Readonly<Record<string, unknown>> | null | undefined): string {
  if (plan.selectionVariables.length === 0) return plan.id;
  const used: Record<string, unknown> = {};
  for (const name of plan.selectionVariables) if (variables && name in variables) used[name] = variables[name];
  return `${plan.id}\u0000${JSON.stringify(used)}`;
}

/** The serialised result of `args` for an event and a sharing key (`sharingKey`). */
type PayloadFor = (event: object, key: string, args: ExecutionArgs) => string | Promise<string>;

/** Each event's serialised results, by sharing key, kept as long as the event object lives. */
function createResultCache({
  createContext,
  formatResult,
}: Pick<SharedDeliveryOptions, 'createContext' | 'formatResult'>): PayloadFor {
  const results = new WeakMap<object, Map<string, string | Promise<string>>>();
  const serialise = (result: ExecutionResult) => JSON.stringify(formatResult(result));

  /** The serialised result of `args` for `event`, executed by the first subscriber that asks. */
  return function payloadFor(event, key, args) {
    let byKey = results.get(event);
    if (!byKey) results.set(event, (byKey = new Map()));
    const known = byKey.get(key);
    if (known !== undefined) return known;
    const result = execute({ ...args, rootValue: event, contextValue: createContext() });
    if (!isPromise(result)) {
      const text = serialise(result);
      byKey.set(key, text);
      return text;
    }
    const pending = result.then(serialise);
    byKey.set(key, pending);
    pending.then(
      (text) => byKey.set(key, text),
      () => byKey.delete(key),
    );
    return pending;
  };
}

/** What the deliveries of one process share: the results of each event, and the corking of sockets. */
interface Deliveries {
  payloadFor: PayloadFor;
  coalescer: ReturnType<typeof createWriteCoalescer>;
}

/**
 * The iterator graphql-ws follows: it yields nothing, for the frames go
 * straight to the socket, and ends (or fails) when the event stream does.
 * Writing starts when graphql-ws first pulls, once the subscription is
 * registered on the connection.
 */
function deliver(
  { payloadFor, coalescer }: Deliveries,
  source: AsyncIterator<object>,
  key: string,
  args: ExecutionArgs,
  target: DeliveryTarget,
) {
  const { socket, budget } = target;
  const prefix = `{"id":${JSON.stringify(target.id)},"type":"next","payload":`;
  let started = false;
  let stopped = false;
  let settle!: (result: IteratorResult<never>) => void;
  let fail!: (error: unknown) => void;
  const finished = new Promise<IteratorResult<never>>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const raw = (socket as unknown as { _socket?: Writable })._socket;
  const send = (frame: string) => {
    if (raw) coalescer.hold(raw);
    // Paced by the socket: a replay or a burst waits for the kernel to take what is written.
    return socket.bufferedAmount < PACING_BYTES
      ? socket.send(frame)
      : new Promise<void>((resolve) => socket.send(frame, () => resolve()));
  };
  const run = async () => {
    try {
      for (;;) {
        const { value, done } = await source.next();
        if (done || stopped) break;
        const known = payloadFor(value, key, args);
        const payload = typeof known === 'string' ? known : await known;
        if (stopped) break;
        await send(`${prefix}${payload}}`);
        // Past the connection's bound its close is under way: nothing more is written.
        if (!budget.take(0)) return;
      }
      settle(DONE);
    } catch (error) {
      fail(error);
    }
  };
  const stop = async () => {
    stopped = true;
    settle(DONE);
    await source.return?.();
    return DONE;
  };
  const iterator = {
    next() {
      if (!started) {
        started = true;
        void run();
      }
      return finished;
    },
    return: stop,
    throw: stop,
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
