/**
 * A backing service (database, message broker) cannot be reached right now:
 * the operation did not happen and may be retried, unless `uncertain`. Backends throw it; the
 * error formatter words it for clients.
 */
export class UnavailableError extends Error {
  /** The request may have taken effect after all (it was sent, and the answer did not come in time). */
  readonly uncertain: boolean;

  constructor(
    /** What could not be reached, e.g. "store". */
    readonly service: string,
    cause: unknown,
    { uncertain = false }: { uncertain?: boolean } = {},
  ) {
    super(`${service} unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'UnavailableError';
    this.uncertain = uncertain;
  }
}
