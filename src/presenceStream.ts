import type { PresenceRecord, PresenceTracker } from './presence';
import { MISSED_EVENTS, type Delivery, type PresenceEvent, type PubSub, type Subscription, type Topics } from './pubsub/pubsub';
import type { Store } from './store/store';

/** The channel key of a pair of users, the same from either side. */
export function pairKey(a: string, b: string): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

/** Publishes a status change on the pair channel of each of the user's mutual friends. */
export async function publishPresence(store: Store, pubsub: PubSub, record: PresenceRecord): Promise<void> {
  const event: PresenceEvent = {
    userId: record.userId,
    status: record.status,
    lastActiveAt: record.lastActiveAt?.toISOString() ?? null,
  };
  const friends = await store.friends.listMutual(record.userId);
  await Promise.all(friends.map((friendId) => pubsub.publish('presenceChanged', pairKey(record.userId, friendId), event)));
}

/** Tells both users' open presence streams that their friends may have changed. */
export async function publishFriendsChanged(pubsub: PubSub, a: string, b: string): Promise<void> {
  await Promise.all([pubsub.publish('friendsChanged', a, { friendId: b }), pubsub.publish('friendsChanged', b, { friendId: a })]);
}

function toRecord(event: PresenceEvent): PresenceRecord {
  return { userId: event.userId, status: event.status, lastActiveAt: event.lastActiveAt === null ? null : new Date(event.lastActiveAt) };
}

/**
 * The viewer's friends' status changes: the pair channels of the viewer's
 * current mutual friends, re-subscribed whenever the viewer's control channel
 * says the friends changed (the new channels are live before the old ones go,
 * and only current friends' events pass). After missed events, the current
 * presence of every friend is sent again.
 */
export async function openPresenceStream(options: {
  store: Store;
  pubsub: PubSub;
  presence: PresenceTracker;
  viewerId: string;
}): Promise<AsyncIterableIterator<PresenceRecord> & { return(): Promise<IteratorResult<PresenceRecord>> }> {
  const { store, pubsub, presence, viewerId } = options;
  const control = await pubsub.subscribe('friendsChanged', viewerId);
  let friends = new Set<string>();
  let pairs: Subscription<Topics['presenceChanged']> | null = null;
  let pairNext: Promise<IteratorResult<Delivery<PresenceEvent>>> | null = null;
  let controlNext: Promise<IteratorResult<Delivery<Topics['friendsChanged']>>> | null = null;
  let closed = false;
  const buffer: PresenceRecord[] = [];

  async function follow(): Promise<string[]> {
    const current = await store.friends.listMutual(viewerId);
    const next = await pubsub.subscribe('presenceChanged', current.map((id) => pairKey(viewerId, id)));
    const added = current.filter((id) => !friends.has(id));
    const previous = pairs;
    pairs = next;
    pairNext = null;
    friends = new Set(current);
    await previous?.return();
    return added;
  }

  try {
    await follow();
  } catch (error) {
    await control.return();
    throw error;
  }

  const close = async (): Promise<IteratorResult<PresenceRecord>> => {
    closed = true;
    buffer.length = 0;
    await Promise.all([control.return(), pairs?.return()]);
    return { value: undefined, done: true };
  };

  const iterator = {
    async next(): Promise<IteratorResult<PresenceRecord>> {
      while (buffer.length === 0) {
        if (closed) return { value: undefined, done: true };
        pairNext ??= pairs!.next();
        controlNext ??= control.next();
        const from = pairNext;
        const winner = await Promise.race([from.then((r) => ({ source: 'pair' as const, r })), controlNext.then((r) => ({ source: 'control' as const, r }))]);
        if (closed) return { value: undefined, done: true };
        if (winner.source === 'control') {
          controlNext = null;
          if (winner.r.done) return close();
          const added = await follow();
          // A new friend's current status, so that the viewer need not ask.
          if (added.length > 0) buffer.push(...(await presence.get(added)));
          continue;
        }
        if (from !== pairNext) continue; // a result of channels already replaced
        pairNext = null;
        // The current channels ended: the pub/sub is closing, and so does this stream.
        if (winner.r.done) return close();
        const value = winner.r.value;
        if (value === MISSED_EVENTS) buffer.push(...(await presence.get([...friends])));
        else if (value.userId !== viewerId && friends.has(value.userId)) buffer.push(toRecord(value));
      }
      return { value: buffer.shift()!, done: false };
    },
    return: close,
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
