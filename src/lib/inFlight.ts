/**
 * A bound on what each key (a user, a client address) may have in flight at
 * once, counted in any unit: say the estimated bytes of the answers being
 * built or sent for it.
 */
export interface InFlightLimit {
  /**
   * Takes `amount` for `key` and returns what gives it back (calling it more
   * than once gives back once), or null when that would pass the bound. A key
   * holding nothing is always let through, so that one unit of work too large
   * for the bound still runs alone.
   */
  take(key: string, amount: number): (() => void) | null;
  /** What `key` holds now. */
  held(key: string): number;
}

/**
 * An in-flight limit of `max` per key, within this process. Hand-written: the
 * rate limiters of rate-limiter-flexible count over time windows, not what is
 * held until given back, and this is a map of sums.
 */
export function createInFlightLimit(max: number): InFlightLimit {
  const held = new Map<string, number>();
  return {
    take(key, amount) {
      const now = held.get(key) ?? 0;
      if (now > 0 && now + amount > max) return null;
      held.set(key, now + amount);
      let given = false;
      return () => {
        if (given) return;
        given = true;
        const left = (held.get(key) ?? 0) - amount;
        if (left > 0) held.set(key, left);
        else held.delete(key);
      };
    },
    held: (key) => held.get(key) ?? 0,
  };
}
