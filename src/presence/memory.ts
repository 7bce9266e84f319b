import { createConnectionCounter, type PresenceOptions, type PresenceTracker } from './presence';

/** Presence within this one process: the embedded default. */
export function createMemoryPresence(options: PresenceOptions): PresenceTracker {
  const now = options.now ?? Date.now;
  const online = new Set<string>();
  const lastActive = new Map<string, number>();
  const counter = createConnectionCounter(options, {
    async online(userId) {
      const t = now();
      online.add(userId);
      lastActive.set(userId, t);
      options.onChange({ userId, status: 'ONLINE', lastActiveAt: new Date(t) });
    },
    async offline(userId) {
      // One instant for both: the announced lastActiveAt is the one queries report afterwards.
      const t = now();
      online.delete(userId);
      lastActive.set(userId, t);
      options.onChange({ userId, status: 'OFFLINE', lastActiveAt: new Date(t) });
    },
  });
  return {
    connected: counter.connected,
    disconnected: counter.disconnected,
    async get(userIds) {
      return userIds.map((userId) => {
        const isOnline = online.has(userId);
        const last = lastActive.get(userId);
        return {
          userId,
          status: isOnline ? 'ONLINE' : 'OFFLINE',
          lastActiveAt: isOnline ? new Date(now()) : last === undefined ? null : new Date(last),
        };
      });
    },
    async close() {
      counter.close();
    },
  };
}
