/**
 * A backing service (database, message broker) cannot be reached right now:
 * the operation did not happen and may be retried. Backends throw it; the
 * error formatter words it for clients.
 */
export class UnavailableError extends Error {
  constructor(
    /** What could not be reached, e.g. "store". */
    readonly service: string,
    cause: unknown,
  ) {
    super(`${service} unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'UnavailableError';
  }
}
