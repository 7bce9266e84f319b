/** A user's presence as the API reports it. */
export interface PresenceRecord {
  userId: string;
  status: 'ONLINE' | 'OFFLINE';
  /** When the user was last connected; null if never. */
  lastActiveAt: Date | null;
}

/**
 * Who is online, across every server process: a user is ONLINE while at
 * least one of their devices holds an authenticated connection anywhere.
 * Each status change is reported once, by one process, to `onChange`.
 */
export interface PresenceTracker {
  /** A device of `userId` opened an authenticated connection on this process. */
  connected(userId: string): Promise<void>;
  /** A device of `userId` closed its connection on this process. */
  disconnected(userId: string): Promise<void>;
  get(userIds: readonly string[]): Promise<PresenceRecord[]>;
  /** Stops timers; connections still counted here are simply forgotten. */
  close(): Promise<void>;
}

/** Options shared by every PresenceTracker. */
export interface PresenceOptions {
  /** Called once per status change, wherever it was decided. */
  onChange: (record: PresenceRecord) => void;
  /**
   * How long after a user's last device disconnects they still count as
   * ONLINE, so that a reconnecting device causes no OFFLINE/ONLINE flapping.
   * @default 3000
   */
  graceMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * Counts this process's connections per user and applies the grace period;
 * `backend` decides what the counts mean across processes.
 */
export function createConnectionCounter(
  { graceMs = 3000 }: { graceMs?: number },
  backend: { online(userId: string): Promise<void>; offline(userId: string): Promise<void> },
) {
  const counts = new Map<string, number>();
  const leaving = new Map<string, NodeJS.Timeout>();
  return {
    /** Users with a device here, or within their grace period. */
    users: () => [...new Set([...counts.keys(), ...leaving.keys()])],
    /** Whether `userId` has a device here, or is within their grace period. */
    has: (userId: string) => counts.has(userId) || leaving.has(userId),
    async connected(userId: string) {
      const count = (counts.get(userId) ?? 0) + 1;
      counts.set(userId, count);
      const pending = leaving.get(userId);
      if (pending) {
        // Back within the grace period: nothing changed for anyone else.
        clearTimeout(pending);
        leaving.delete(userId);
      } else if (count === 1) {
        await backend.online(userId);
      }
    },
    async disconnected(userId: string) {
      const count = (counts.get(userId) ?? 1) - 1;
      if (count > 0) return void counts.set(userId, count);
      counts.delete(userId);
      const timer = setTimeout(() => {
        leaving.delete(userId);
        void backend.offline(userId);
      }, graceMs);
      timer.unref();
      leaving.set(userId, timer);
    },
    close() {
      for (const timer of leaving.values()) clearTimeout(timer);
      leaving.clear();
      counts.clear();
    },
  };
}
