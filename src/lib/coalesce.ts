import type { Writable } from 'node:stream';

/**
 * Coalesces writes per event-loop iteration: a stream written through
 * `hold` is corked until the loop's check phase, so that everything written
 * to it while this iteration's I/O is handled (frames of several messages
 * to one socket) leaves in one system call. Adds at most one loop iteration
 * of delay, as uWebSockets' per-iteration corking does.
 */
export function createWriteCoalescer() {
  const corked = new Set<Writable>();
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    for (const stream of corked) stream.uncork();
    corked.clear();
  };
  return {
    /** Corks `stream` until the end of this loop iteration, unless it already is. */
    hold(stream: Writable): void {
      if (corked.has(stream)) return;
      stream.cork();
      corked.add(stream);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
}
