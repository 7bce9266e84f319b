/** Refused by a `ConcurrencyLimit` whose queue is full: the caller should try again shortly. */
export class BusyError extends Error {
  constructor() {
    super('too many tasks waiting');
    this.name = 'BusyError';
  }
}

/** Runs tasks at most `concurrency` at a time, queueing at most `maxWaiting` more. */
export interface ConcurrencyLimit {
  /** Runs `task` when a slot is free; rejects with BusyError at once when the queue is full. */
  run<T>(task: () => Promise<T>): Promise<T>;
}

/**
 * A bound on concurrent expensive work (password hashing), so that a flood
 * of it is refused quickly instead of queueing without end and delaying
 * everyone. Hand-written: p-limit, the usual library, is ESM-only and this
 * build is CommonJS, and it has no bound on waiting tasks.
 */
export function createConcurrencyLimit({
  concurrency,
  maxWaiting,
}: {
  concurrency: number;
  maxWaiting: number;
}): ConcurrencyLimit {
  let active = 0;
  const waiting: (() => void)[] = [];
  return {
    async run(task) {
      if (active < concurrency) active++;
      else if (waiting.length >= maxWaiting) throw new BusyError();
      // A finishing task hands its slot straight to the first waiter, so no newcomer can slip in between.
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else active--;
      }
    },
  };
}
