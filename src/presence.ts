/** A user's presence as the API reports it. */
export interface PresenceRecord {
  userId: string;
  status: 'ONLINE' | 'OFFLINE';
  lastActiveAt: Date | null;
}

/**
 * Who is connected. For now this counts the authenticated graphql-ws
 * connections of this one process; friends' presence across processes
 * comes with the presence issue.
 */
export interface PresenceTracker {
  /** A device of `userId` opened an authenticated connection. */
  connected(userId: string): void;
  /** A device of `userId` closed its connection. */
  disconnected(userId: string): void;
  get(userId: string): PresenceRecord;
}

/** Presence from this process's own connections. */
export function createLocalPresence(now: () => Date = () => new Date()): PresenceTracker {
  const connections = new Map<string, number>();
  const lastActive = new Map<string, Date>();
  return {
    connected(userId) {
      connections.set(userId, (connections.get(userId) ?? 0) + 1);
      lastActive.set(userId, now());
    },
    disconnected(userId) {
      const left = (connections.get(userId) ?? 1) - 1;
      if (left > 0) connections.set(userId, left);
      else connections.delete(userId);
      lastActive.set(userId, now());
    },
    get(userId) {
      const online = connections.has(userId);
      return { userId, status: online ? 'ONLINE' : 'OFFLINE', lastActiveAt: online ? now() : (lastActive.get(userId) ?? null) };
    },
  };
}
