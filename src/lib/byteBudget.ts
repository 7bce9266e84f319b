/**
 * A bound on the bytes held for one consumer (e.g. one WebSocket connection),
 * shared by everything that holds them for it. Once passed it stays spent:
 * the consumer is to be dropped, and nothing more is taken for it.
 */
export interface ByteBudget {
  /** Takes `bytes`; false, and the budget spent for good, when that would pass the bound. */
  take(bytes: number): boolean;
  /** Gives back bytes taken before. */
  give(bytes: number): void;
  /** Whether the bound was passed. */
  readonly spent: boolean;
}

/** Options of `createByteBudget`. */
export interface ByteBudgetOptions {
  maxBytes: number;
  /** Bytes held elsewhere for the same consumer (a socket's unsent buffer), counted at each take. @default 0 */
  external?: () => number;
  /** Called once, when the bound is first passed. */
  onExceeded: (heldBytes: number) => void;
}

/** A byte budget; see `ByteBudget`. */
export function createByteBudget({ maxBytes, external = () => 0, onExceeded }: ByteBudgetOptions): ByteBudget {
  let held = 0;
  let spent = false;
  return {
    take(bytes) {
      if (spent) return false;
      const total = held + bytes + external();
      if (total > maxBytes) {
        spent = true;
        onExceeded(total);
        return false;
      }
      held += bytes;
      return true;
    },
    give(bytes) {
      held = Math.max(0, held - bytes);
    },
    get spent() {
      return spent;
    },
  };
}
