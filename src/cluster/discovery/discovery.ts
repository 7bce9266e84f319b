/** Where clients should connect: one implementation per backend (memory.ts, redis.ts). */

/** What one server process announces about itself. */
export interface ServerAnnouncement {
  /** Its public WebSocket URL. */
  url: string;
  /** Its open, authenticated WebSocket connections. */
  connections: number;
}

/** Where clients should connect: the registry of live server processes. */
export interface Discovery {
  /** The WebSocket URL of the least-loaded live server. */
  leastLoaded(): Promise<string>;
  /** Announces this process until `stop()`: its URL, and its load as `connections()` reports it. */
  register(url: string, connections: () => number): { stop(): Promise<void> };
}
