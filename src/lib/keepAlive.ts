import type { WebSocket, WebSocketServer } from 'ws';

/** Slices of the sockets pinged in turn, so that no tick pings many sockets at once (100,000 sockets: 782 a tick). */
const SLICES = 128;

/**
 * One keep-alive for every socket of a WebSocket server, instead of a timer
 * per socket: each socket is pinged once per `intervalMs`, and one that has
 * not answered the previous ping by then is terminated, so a dead peer is
 * dropped within two intervals (as graphql-ws's per-socket keep-alive does).
 * The sockets are pinged a slice at a time, spread over the interval.
 */
export function createKeepAlive(server: WebSocketServer, intervalMs: number) {
  const slices = Array.from({ length: SLICES }, () => new Set<WebSocket>());
  const unanswered = new WeakSet<WebSocket>();
  let next = 0;
  let turn = 0;
  function onPong(this: WebSocket) {
    unanswered.delete(this);
  }
  function onClose(this: WebSocket) {
    for (const slice of slices) if (slice.delete(this)) break;
  }
  server.on('connection', (socket: WebSocket) => {
    slices[next++ % SLICES]!.add(socket);
    socket.on('pong', onPong);
    socket.once('close', onClose);
  });
  const timer = setInterval(
    () => {
      for (const socket of slices[turn++ % SLICES]!) {
        if (socket.readyState !== socket.OPEN) continue;
        if (unanswered.has(socket)) {
          socket.terminate();
          continue;
        }
        unanswered.add(socket);
        socket.ping();
      }
    },
    Math.max(1, intervalMs / SLICES),
  );
  timer.unref();
  return {
    /** Stops pinging. */
    stop: () => clearInterval(timer),
  };
}
