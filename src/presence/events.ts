/** The presence events: a status change on friend pairs' channels, and word that friends changed. */
import type { PubSub } from '../pubsub/pubsub';
import type { PresenceEvent } from '../pubsub/topics';
import type { Store } from '../store/store';
import type { PresenceRecord } from './presence';

/** The channel key of a pair of users, the same from either side. */
export function pairKey(a: string, b: string): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

/** A status change as it is published. */
export function toPresenceEvent(record: PresenceRecord): PresenceEvent {
  return { userId: record.userId, status: record.status, lastActiveAt: record.lastActiveAt?.toISOString() ?? null };
}

/** A published status change back as a record. */
export function fromPresenceEvent(event: PresenceEvent): PresenceRecord {
  return {
    userId: event.userId,
    status: event.status,
    lastActiveAt: event.lastActiveAt === null ? null : new Date(event.lastActiveAt),
  };
}

/** Publishes a status change on the pair channel of each of the user's mutual friends. */
export async function publishPresence(store: Store, pubsub: PubSub, record: PresenceRecord): Promise<void> {
  const event = toPresenceEvent(record);
  const friends = await store.friends.listMutual(record.userId);
  await pubsub.publish(
    'presenceChanged',
    friends.map((friendId) => pairKey(record.userId, friendId)),
    event,
  );
}

/** Tells both users' open presence streams that their friends may have changed. */
export async function publishFriendsChanged(pubsub: PubSub, a: string, b: string): Promise<void> {
  await Promise.all([
    pubsub.publish('friendsChanged', a, { friendId: b }),
    pubsub.publish('friendsChanged', b, { friendId: a }),
  ]);
}
