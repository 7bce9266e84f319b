import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * What `socket` still has to send, as far as Node shows it: the stream's
 * buffered bytes (a write counts whole until the kernel has taken all of it),
 * plus libuv's count of the bytes of the writes in progress that the kernel
 * has not taken yet. The latter is not public API (`_handle.writeQueueSize`,
 * read live from libuv on Node 20 and 24, counted as 0 where absent); without
 * it a large answer only shows progress once it is all sent.
 */
function unsentBytes(socket: Socket): number {
  const handle = (socket as unknown as { _handle?: { writeQueueSize?: unknown } | null })._handle;
  const queued = typeof handle?.writeQueueSize === 'number' ? handle.writeQueueSize : 0;
  return socket.writableLength + queued;
}

/**
 * Cuts off the response `res` (destroys its connection) once it has had
 * something to send and its client has taken none of it for `timeoutMs`.
 * A client that stops reading would otherwise keep its answer in this
 * process's memory for as long as it keeps the connection open. A slow
 * client that keeps reading is left alone. Watching ends with the response.
 */
export function cutOffWhenStalled(res: ServerResponse, timeoutMs: number, onCutOff?: (unsent: number) => void): void {
  const socket = res.socket;
  if (!socket) return;
  let unsent = 0;
  let progressAt = Date.now();
  // Looked at four times per timeout: cut off between 1 and 1.25 timeouts after the last progress.
  const timer = setTimeout(
    function check() {
      // Only unsent bytes that stay put are a stall: none at all is work in progress, fewer were taken, more were written.
      const now = unsentBytes(socket);
      if (now === 0 || now !== unsent) progressAt = Date.now();
      unsent = now;
      if (Date.now() - progressAt < timeoutMs) {
        timer.refresh();
        return;
      }
      onCutOff?.(now);
      socket.destroy();
    },
    Math.max(10, Math.floor(timeoutMs / 4)),
  ).unref();
  res.once('close', () => clearTimeout(timer));
}
