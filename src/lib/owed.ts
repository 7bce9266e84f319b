/** Options of `createOwed`. */
export interface OwedOptions {
  /** Wait before the first try, doubled after each failed round up to `maxDelayMs`. @default 100 */
  minDelayMs?: number;
  /** @default 2000 */
  maxDelayMs?: number;
  /** Keys owed at once; more are dropped, and `onDropped` told. @default 100000 */
  maxKeys?: number;
  /** Told once per burst of dropped keys, with how many were dropped so far. @default ignored */
  onDropped?: (dropped: number) => void;
}

/** A set of keys owed something, sent again in the background until it goes through. */
export interface Owed {
  /** Owes each of `keys` a send (a key already owed is owed once). */
  add(keys: Iterable<string>): void;
  /** How many keys are owed right now. */
  size(): number;
  /** Stops trying; what is still owed is forgotten. */
  close(): void;
}

/**
 * Keys owed a send that failed, tried again in rounds until each goes
 * through: `send(keys)` resolves with the keys it could not send, which stay
 * owed. Rounds back off while they fail and stop when nothing is owed. The
 * timer never keeps the process alive.
 */
export function createOwed(send: (keys: string[]) => Promise<readonly string[]>, options: OwedOptions = {}): Owed {
  const { minDelayMs = 100, maxDelayMs = 2000, maxKeys = 100_000, onDropped = () => undefined } = options;
  const owed = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let sending = false;
  let delay = minDelayMs;
  let dropped = 0;
  let closed = false;

  const schedule = () => {
    if (closed || timer || sending || owed.size === 0) return;
    timer = setTimeout(round, delay);
    timer.unref();
  };

  async function round(): Promise<void> {
    timer = null;
    sending = true;
    const keys = [...owed];
    let failed: readonly string[];
    try {
      failed = await send(keys);
    } catch {
      failed = keys;
    }
    sending = false;
    const stillOwed = new Set(failed);
    for (const key of keys) if (!stillOwed.has(key)) owed.delete(key);
    delay = stillOwed.size > 0 ? Math.min(delay * 2, maxDelayMs) : minDelayMs;
    schedule();
  }

  return {
    add(keys) {
      if (closed) return;
      const before = dropped;
      for (const key of keys) {
        if (owed.has(key)) continue;
        if (owed.size >= maxKeys) dropped++;
        else owed.add(key);
      }
      if (dropped > before) onDropped(dropped);
      schedule();
    },
    size: () => owed.size,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      owed.clear();
    },
  };
}
