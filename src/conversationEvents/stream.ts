import { forbidden, subscriberLagging } from '../contract/errors';
import type { ByteBudget } from '../lib/byteBudget';
import { createPullIterator } from '../lib/pullIterator';
import { MISSED_EVENTS, SubscriberOverflowError, type Delivery, type PubSub } from '../pubsub/pubsub';
import type { Topics } from '../pubsub/topics';
import type { Store } from '../store/store';
import { conversationOf, fromWire, type ConversationEventRecord, type TypingChangedRecord } from './event';

/** Options of `openConversationEventStream`. */
export interface ConversationEventStreamOptions {
  store: Store;
  pubsub: PubSub;
  /** Whose events; the caller has checked any conversation's membership. */
  userId: string;
  /** Only this conversation's events. */
  conversationId?: string;
  /** What the events waiting for this stream are charged to (its connection). @default none */
  budget?: ByteBudget;
  /** How long a typing indicator is shown unless renewed. @default 6000 */
  typingMs?: number;
}

type Received =
  | { from: 'events'; result: IteratorResult<Delivery<Topics['conversationEvent']>> }
  | { from: 'messages'; result: IteratorResult<Delivery<Topics['messageAdded']>> }
  | { from: 'timer' }
  | { from: 'error'; error: unknown };

/** What the parts of one stream share: whose it is, the memberships it knows and the typing it shows. */
interface StreamState {
  store: Store;
  userId: string;
  /** The one conversation followed, if only one is. */
  conversationId: string | undefined;
  typingMs: number;
  /** Whether the user belongs to a conversation, as last read or heard. */
  isMemberOf: Map<string, boolean>;
  /** Typing shown to this stream: `${conversationId}\0${userId}` -> when it ends. */
  typing: Map<string, { record: TypingChangedRecord; until: number }>;
  /** The timer of the wait for the earliest indicator to end (`nextExpiry`). */
  timer: NodeJS.Timeout | undefined;
}

/**
 * A user's conversation events: what arrives on their `conversationEvent`
 * channel, shown only for conversations they belong to when it arrives.
 *
 * Membership is read from the store once per conversation and stream, then
 * kept up to date by the events themselves: word that the user left (on their
 * message channel) ends it, a MembersChanged that names them as joined starts
 * it again, and MISSED_EVENTS (word may have been lost) forgets all of it.
 *
 * Typing indicators are kept here, per stream, rather than anywhere shared:
 * a TypingChanged(true) is shown once and renewed silently, and the stream
 * itself reports the end (typing: false) when the typer says so, sends a
 * message in that conversation (read from the same user's message channel),
 * or is not renewed within `typingMs`. So a typer whose process dies, or
 * whose renewals go to several processes, still ends on time everywhere.
 */
export async function openConversationEventStream(
  options: ConversationEventStreamOptions,
): Promise<AsyncIterableIterator<ConversationEventRecord>> {
  const { store, pubsub, userId, conversationId, budget, typingMs = 6000 } = options;
  const events = await pubsub.subscribe('conversationEvent', userId, { budget });
  let messages: Awaited<ReturnType<typeof pubsub.subscribe<'messageAdded'>>>;
  try {
    messages = await pubsub.subscribe('messageAdded', userId, { budget });
  } catch (error) {
    await events.return();
    throw error;
  }

  const isMemberOf = new Map<string, boolean>();
  /** Typing shown to this stream: `${conversationId}\0${userId}` -> when it ends. */
  const typing = new Map<string, { record: TypingChangedRecord; until: number }>();
  const stream: StreamState = { store, userId, conversationId, typingMs, isMemberOf, typing, timer: undefined };
  let pendingEvent: Promise<Received> | null = null;
  let pendingMessage: Promise<Received> | null = null;

  async function pull(): Promise<ConversationEventRecord[] | null> {
    for (;;) {
      const due = expired(stream);
      if (due.length > 0) return due;
      pendingEvent ??= events.next().then(
        (result): Received => ({ from: 'events', result }),
        (error): Received => ({ from: 'error', error }),
      );
      pendingMessage ??= messages.next().then(
        (result): Received => ({ from: 'messages', result }),
        (error): Received => ({ from: 'error', error }),
      );
      const wake = nextExpiry(stream);
      const received = await Promise.race([pendingEvent, pendingMessage, ...(wake ? [wake] : [])]);
      clearTimeout(stream.timer);
      if (received.from === 'timer') continue;
      if (received.from === 'error') throw overflow(received.error);
      if (received.from === 'events') pendingEvent = null;
      else pendingMessage = null;
      if (received.result.done) return null;
      if (received.result.value === MISSED_EVENTS) {
        // Word of leaving or joining may be among what was lost.
        isMemberOf.clear();
        if (conversationId !== undefined && !(await isMember(stream, conversationId))) throw noLongerAMember();
        continue;
      }
      const shown =
        received.from === 'events'
          ? await onEvent(stream, received.result.value)
          : onMessage(stream, received.result.value as Topics['messageAdded']);
      if (shown.length > 0) return shown;
    }
  }

  return createPullIterator(pull, async () => {
    clearTimeout(stream.timer);
    await Promise.all([events.return(), messages.return()]);
  });
}

const noLongerAMember = () => forbidden('You are no longer a member of this conversation.');

async function isMember({ store, userId, isMemberOf }: StreamState, id: string): Promise<boolean> {
  let known = isMemberOf.get(id);
  if (known === undefined) {
    const [membership] = await store.conversations.getMemberships([{ conversationId: id, userId }]);
    known = membership !== null;
    isMemberOf.set(id, known);
  }
  return known;
}

const ended = (record: TypingChangedRecord): TypingChangedRecord => ({ ...record, typing: false });

/** Indicators not renewed in time, now ended. */
function expired({ typing }: StreamState): ConversationEventRecord[] {
  const now = Date.now();
  const due: ConversationEventRecord[] = [];
  for (const [key, shown] of typing) {
    if (shown.until > now) continue;
    typing.delete(key);
    due.push(ended(shown.record));
  }
  return due;
}

/** Resolves when the earliest indicator is due; null when none is shown. */
function nextExpiry(stream: StreamState): Promise<Received> | null {
  const { typing } = stream;
  if (typing.size === 0) return null;
  const earliest = Math.min(...[...typing.values()].map((t) => t.until));
  return new Promise((resolve) => {
    stream.timer = setTimeout(() => resolve({ from: 'timer' }), Math.max(0, earliest - Date.now()));
  });
}

async function onEvent(stream: StreamState, wire: Topics['conversationEvent']): Promise<ConversationEventRecord[]> {
  const { userId, conversationId, typingMs, isMemberOf, typing } = stream;
  const id = conversationOf(wire);
  if (conversationId !== undefined && id !== conversationId) return [];
  if (wire.type === 'membersChanged' && wire.joinedIds.includes(userId)) isMemberOf.set(id, true);
  if (!(await isMember(stream, id))) return [];
  const record = fromWire(wire);
  if (record.kind !== 'TypingChanged') return [record];
  const key = `${id}\u0000${record.userId}`;
  if (record.typing) {
    const shown = typing.has(key);
    typing.set(key, { record, until: Date.now() + typingMs });
    return shown ? [] : [record];
  }
  return typing.delete(key) ? [record] : [];
}

function onMessage(
  { conversationId, isMemberOf, typing }: StreamState,
  event: Topics['messageAdded'],
): ConversationEventRecord[] {
  const id = 'leftConversationId' in event ? event.leftConversationId : event.conversationId;
  if ('leftConversationId' in event) {
    if (id === conversationId) throw noLongerAMember();
    isMemberOf.set(id, false);
    for (const [key, shown] of typing) if (shown.record.conversationId === id) typing.delete(key);
    return [];
  }
  const key = `${id}\u0000${event.senderId}`;
  const shown = typing.get(key);
  if (!shown) return [];
  typing.delete(key);
  return [ended(shown.record)];
}

const overflow = (error: unknown) => (error instanceof SubscriberOverflowError ? subscriberLagging() : error);
