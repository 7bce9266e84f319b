import type { ByteBudget } from '../lib/byteBudget';
import { createPullIterator } from '../lib/pullIterator';
import { MISSED_EVENTS, type Delivery, type PubSub, type Subscription } from '../pubsub/pubsub';
import type { FriendsChangedEvent, PresenceEvent } from '../pubsub/topics';
import type { Store } from '../store/store';
import { fromPresenceEvent, pairKey } from './events';
import type { PresenceRecord, PresenceTracker } from './presence';

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
  /** What the events waiting for this stream are charged to (its connection). @default none */
  budget?: ByteBudget;
}): Promise<AsyncIterableIterator<PresenceRecord> & { return(): Promise<IteratorResult<PresenceRecord>> }> {
  const { store, pubsub, presence, viewerId, budget } = options;
  const control = await pubsub.subscribe('friendsChanged', viewerId, { budget });
  let friends = new Set<string>();
  let pairs: Subscription<PresenceEvent> | null = null;
  let pairNext: Promise<IteratorResult<Delivery<PresenceEvent>>> | null = null;
  let controlNext: Promise<IteratorResult<Delivery<FriendsChangedEvent>>> | null = null;

  async function follow(): Promise<string[]> {
    const current = await store.friends.listMutual(viewerId);
    const next = await pubsub.subscribe(
      'presenceChanged',
      current.map((id) => pairKey(viewerId, id)),
      { budget },
    );
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

  /** What the next event of either channel yields: records to deliver ([] for none), or null at the end. */
  async function pull(): Promise<PresenceRecord[] | null> {
    pairNext ??= pairs!.next();
    controlNext ??= control.next();
    const from = pairNext;
    const winner = await Promise.race([
      from.then((r) => ({ source: 'pair' as const, r })),
      controlNext.then((r) => ({ source: 'control' as const, r })),
    ]);
    if (winner.source === 'control') {
      controlNext = null;
      if (winner.r.done) return null;
      const added = await follow();
      // A new friend's current status, so that the viewer need not ask.
      return added.length > 0 ? presence.get(added) : [];
    }
    if (from !== pairNext) return []; // a result of channels already replaced
    pairNext = null;
    // The current channels ended: the pub/sub is closing, and so does this stream.
    if (winner.r.done) return null;
    const value = winner.r.value;
    if (value === MISSED_EVENTS) return presence.get([...friends]);
    return value.userId !== viewerId && friends.has(value.userId) ? [fromPresenceEvent(value)] : [];
  }

  return createPullIterator(pull, () => Promise.all([control.return(), pairs?.return()]));
}
