import { forbidden, subscriberLagging } from '../contract/errors';
import type { ByteBudget } from '../lib/byteBudget';
import { createPullIterator } from '../lib/pullIterator';
import { MISSED_EVENTS, SubscriberOverflowError, type Delivery, type PubSub } from '../pubsub/pubsub';
import type { Topics } from '../pubsub/topics';
import type { ConversationRecord, MessageRecord, Store } from '../store/store';
import { fromMessageEvent } from './event';

/** Options of `openMessageStream`. */
export interface MessageStreamOptions {
  store: Store;
  pubsub: PubSub;
  /** Whose channel to follow; the caller has checked any conversation's membership. */
  userId: string;
  /** Only this conversation's messages. */
  conversationId?: string;
  /** Replay this conversation's stored messages after this seq first (needs conversationId). */
  afterSeq?: number;
  /**
   * Resume every conversation of the user (without conversationId): each
   * listed one replays what is stored after its seq, each other one from
   * where the user joined; the caller has checked the listed memberships.
   */
  resumeAfter?: ReadonlyMap<string, number>;
  /** What the events waiting for this stream are charged to (its connection). @default none */
  budget?: ByteBudget;
  /** Messages read from the store at a time. @default 100 */
  batchSize?: number;
  /** Told how many messages each batch hands on. @default nothing */
  onDelivered?: (count: number) => void;
}

/**
 * Gap reads in flight, per store. Messages of one conversation published out
 * of `seq` order (sends through several processes) reach every member's
 * stream out of order alike: the streams of one process that miss the same
 * messages share one read instead of making one each. The records read are
 * shared as received events are, and never modified.
 */
const gapReads = new WeakMap<Store, Map<string, Promise<MessageRecord[]>>>();

function readShared(store: Store, key: string, read: () => Promise<MessageRecord[]>): Promise<MessageRecord[]> {
  let inFlight = gapReads.get(store);
  if (!inFlight) gapReads.set(store, (inFlight = new Map()));
  const known = inFlight.get(key);
  if (known) return known;
  const reading = read().finally(() => inFlight.delete(key));
  inFlight.set(key, reading);
  return reading;
}

/** What the parts of one message stream share: whose it is, and how far it has come. */
interface StreamState {
  store: Store;
  userId: string;
  /** The one conversation followed, if only one is. */
  conversationId: string | undefined;
  batchSize: number;
  onDelivered: (count: number) => void;
  /** The last seq delivered (or to start after), per followed conversation. */
  delivered: Map<string, number>;
  /** Conversations whose stored messages after their delivered seq are read first, one at a time. */
  replays: string[];
}

/**
 * A user's messages, each conversation's in `seq` order, each message once.
 *
 * The channel is subscribed first, then the starting point is fixed: `afterSeq`
 * for one conversation, or `resumeAfter` for all of them (listed ones from
 * their seq, the others from where the user joined), replayed from the store
 * one conversation and one batch at a time; else each conversation's
 * `lastSeq` at that moment. From there, per conversation, a message at or below the last
 * delivered seq is a duplicate and dropped; a message beyond the next seq
 * means others were published out of order or lost, and the gap is read from
 * the store. That read is complete because `seq` commit order is `seq` order:
 * once seq n is stored, every seq below n is stored too.
 *
 * When the channel says events may have been lost (MISSED_EVENTS), every
 * followed conversation is read from the store after its last delivered seq.
 *
 * Membership is checked again wherever the store is read for the user (each
 * replay batch, each catch-up), and word that the user left arrives on the
 * same channel: a stream of one conversation then ends with FORBIDDEN, and a
 * stream of all of them stops following it.
 *
 * Resolves once the channel is live; `return()` releases it at once, even
 * while waiting for an event.
 */
export async function openMessageStream(options: MessageStreamOptions): Promise<AsyncIterableIterator<MessageRecord>> {
  const { store, pubsub, userId, conversationId, afterSeq, resumeAfter, budget, batchSize = 100 } = options;
  const { onDelivered = () => undefined } = options;
  const subscription = await pubsub.subscribe('messageAdded', userId, { budget });
  const delivered = new Map<string, number>();
  /** Conversations whose stored messages after their delivered seq are read first, one at a time. */
  const replays: string[] = [];
  const stream: StreamState = { store, userId, conversationId, batchSize, onDelivered, delivered, replays };
  try {
    if (conversationId !== undefined && afterSeq !== undefined) {
      delivered.set(conversationId, afterSeq);
      replays.push(conversationId);
    } else if (resumeAfter !== undefined) {
      const conversations = await store.conversations.listAllForUser(userId);
      for (const c of conversations) if (resumeAfter.has(c.id)) delivered.set(c.id, resumeAfter.get(c.id)!);
      await startWhereJoined(stream, conversations);
      for (const c of conversations) {
        const from = delivered.get(c.id);
        if (from !== undefined && c.lastSeq > from) replays.push(c.id);
      }
    } else if (conversationId !== undefined) {
      const [conversation] = await store.conversations.getMany([conversationId]);
      delivered.set(conversationId, conversation?.lastSeq ?? 0);
    } else {
      for (const c of await store.conversations.listAllForUser(userId)) delivered.set(c.id, c.lastSeq);
    }
  } catch (error) {
    await subscription.return();
    throw error;
  }

  async function pull(): Promise<MessageRecord[] | null> {
    if (replays.length > 0) return replay(stream, replays[0]!);
    // Awaited here rather than in a helper: an idle stream waits in one async function, not two.
    let next: IteratorResult<Delivery<Topics['messageAdded']>>;
    try {
      next = await subscription.next();
    } catch (error) {
      throw error instanceof SubscriberOverflowError ? subscriberLagging() : error;
    }
    if (next.done) return null;
    const event = next.value;
    if (event === MISSED_EVENTS) return catchUp(stream);
    if ('leftConversationId' in event) {
      if (event.leftConversationId === conversationId) throw noLongerAMember();
      delivered.delete(event.leftConversationId);
      return [];
    }
    const message = fromMessageEvent(event);
    if (conversationId !== undefined && message.conversationId !== conversationId) return [];
    let last = delivered.get(message.conversationId);
    if (last === undefined) {
      // A conversation joined after the stream opened: it starts where the user joined.
      const [membership] = await store.conversations.getMemberships([
        { conversationId: message.conversationId, userId },
      ]);
      if (!membership) return [];
      last = membership.joinedSeq;
    }
    if (message.seq <= last) return [];
    const missing = message.seq > last + 1 ? await readBetween(stream, message.conversationId, last, message.seq) : [];
    return note(stream, [...missing, message]);
  }

  return createPullIterator(pull, () => subscription.return());
}

/** Records `batch` as delivered, and tells `onDelivered`. */
function note({ delivered, onDelivered }: StreamState, batch: MessageRecord[]): MessageRecord[] {
  for (const m of batch) delivered.set(m.conversationId, m.seq);
  if (batch.length > 0) onDelivered(batch.length);
  return batch;
}

/** Stored messages of a conversation with from < seq < beforeSeq, in order. */
function readBetween({ store, batchSize }: StreamState, id: string, from: number, beforeSeq: number) {
  return readShared(store, `${id}\u0000${from}\u0000${beforeSeq}\u0000${batchSize}`, async () => {
    const found: MessageRecord[] = [];
    for (let last = from; last + 1 < beforeSeq; ) {
      const batch = await store.messages.page(id, { afterSeq: last, beforeSeq, limit: batchSize, from: 'oldest' });
      if (batch.length === 0) break;
      found.push(...batch);
      last = batch.at(-1)!.seq;
    }
    return found;
  });
}

const noLongerAMember = () => forbidden('You are no longer a member of this conversation.');

/** FORBIDDEN unless the user still belongs to the followed conversation. */
async function checkStillMember(stream: StreamState, id: string): Promise<void> {
  if (!(await isMember(stream, id))) throw noLongerAMember();
}

async function isMember({ store, userId }: StreamState, id: string): Promise<boolean> {
  const [membership] = await store.conversations.getMemberships([{ conversationId: id, userId }]);
  return membership !== null;
}

/** Conversations not followed yet start where the user joined them (none that the user has left). */
async function startWhereJoined(
  { store, userId, delivered }: StreamState,
  conversations: readonly ConversationRecord[],
): Promise<void> {
  const joined = conversations.filter((c) => !delivered.has(c.id));
  const memberships = await store.conversations.getMemberships(joined.map((c) => ({ conversationId: c.id, userId })));
  memberships.forEach((m, i) => m && delivered.set(joined[i]!.id, m.joinedSeq));
}

/**
 * Everything stored after what was delivered, in every conversation the user
 * still belongs to: the answer to MISSED_EVENTS, when the channel may have
 * dropped events (word of a conversation left among them).
 */
async function catchUp(stream: StreamState): Promise<MessageRecord[]> {
  const { store, userId, conversationId, delivered } = stream;
  if (conversationId !== undefined) await checkStillMember(stream, conversationId);
  const conversations =
    conversationId !== undefined
      ? (await store.conversations.getMany([conversationId])).filter((c) => c !== null)
      : await store.conversations.listAllForUser(userId);
  // Conversations left meanwhile are no longer followed; should the user rejoin, they start where they rejoined.
  const current = new Set(conversations.map((c) => c.id));
  for (const id of delivered.keys()) if (!current.has(id)) delivered.delete(id);
  await startWhereJoined(stream, conversations);
  const missed: MessageRecord[] = [];
  for (const c of conversations) {
    const last = delivered.get(c.id);
    if (last !== undefined && c.lastSeq > last) missed.push(...(await readBetween(stream, c.id, last, c.lastSeq + 1)));
  }
  return note(stream, missed);
}

/** The next batch of the first conversation still to replay. */
async function replay(stream: StreamState, id: string): Promise<MessageRecord[]> {
  const { store, conversationId, batchSize, delivered, replays } = stream;
  // A long replay may outlast the membership the resolver checked.
  if (id === conversationId) await checkStillMember(stream, id);
  else if (!(await isMember(stream, id))) {
    // Left meanwhile: the other conversations go on.
    replays.shift();
    delivered.delete(id);
    return [];
  }
  const from = delivered.get(id)!;
  const batch = await store.messages.page(id, { afterSeq: from, limit: batchSize, from: 'oldest' });
  if (batch.length < batchSize) replays.shift();
  return note(stream, batch);
}
