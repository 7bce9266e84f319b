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

/** A byte budget; see `ByteBudget`. A class, so that every connection's budget shares its methods. */
export function createByteBudget(options: ByteBudgetOptions): ByteBudget {
  return new Budget(options);
}

class Budget implements ByteBudget {
  private held = 0;
  spent = false;

  constructor(private readonly options: ByteBudgetOptions) {}

  take(bytes: number): boolean {
    if (this.spent) return false;
    const total = this.held + bytes + (this.options.external?.() ?? 0);
    if (total > this.options.maxBytes) {
      this.spent = true;
      this.options.onExceeded(total);
      return false;
    }
    this.held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }
}
