/** The contract's error codes and one constructor per code (a leaf: imports nothing of the project). */
import { GraphQLError } from 'graphql';

/** The error codes of the public contract; nothing else reaches a client. */
export const ErrorCode = {
  Unauthenticated: 'UNAUTHENTICATED',
  Forbidden: 'FORBIDDEN',
  BadUserInput: 'BAD_USER_INPUT',
  NotFound: 'NOT_FOUND',
  Conflict: 'CONFLICT',
  RateLimited: 'RATE_LIMITED',
  Unavailable: 'UNAVAILABLE',
  ParseFailed: 'GRAPHQL_PARSE_FAILED',
  ValidationFailed: 'GRAPHQL_VALIDATION_FAILED',
  Internal: 'INTERNAL_SERVER_ERROR',
} as const;

/** One of the contract's error codes. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const publicCodes = new Set<string>(Object.values(ErrorCode));

function coded(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/** Missing, invalid or expired token; wrong password. */
export function unauthenticated(
  message = 'Authentication required: send "Authorization: Bearer <token>".',
): GraphQLError {
  return coded(ErrorCode.Unauthenticated, message);
}

/** Authenticated, but not allowed. */
export function forbidden(message = 'You are not allowed to do this.'): GraphQLError {
  return coded(ErrorCode.Forbidden, message);
}

/** An invalid argument, named by `field`. */
export function badInput(field: string, why: string): GraphQLError {
  return coded(ErrorCode.BadUserInput, `${field}: ${why}`, { field });
}

/** The named user or conversation does not exist. */
export function notFound(kind: string, id: string): GraphQLError {
  return coded(ErrorCode.NotFound, `No ${kind} with id "${id}".`, { id });
}

/** A suspended account's logIn or renewSession. */
export function accountSuspended(): GraphQLError {
  return forbidden('account suspended');
}

/**
 * A conversation the viewer does not belong to, whether it exists or not: one
 * answer for both, naming no id, so that trying ids tells a stranger nothing.
 */
export function notAMember(): GraphQLError {
  return forbidden('You are not a member of this conversation.');
}

/**
 * A message the viewer cannot see, whether it exists in a conversation of
 * others or not at all: one answer for both, naming no id.
 */
export function messageNotFound(): GraphQLError {
  return coded(ErrorCode.NotFound, 'No such message in your conversations.');
}

/** The request conflicts with existing state, e.g. a taken username. */
export function conflict(why: string): GraphQLError {
  return coded(ErrorCode.Conflict, why);
}

/** Too many requests; `retryAfterSeconds` tells when to try again. */
export function rateLimited(retryAfterSeconds: number): GraphQLError {
  return coded(ErrorCode.RateLimited, `Too many requests; retry in ${retryAfterSeconds}s.`, { retryAfterSeconds });
}

/** A backing service (database, Redis) is down: nothing was changed, and retrying later is safe. */
export function unavailable(
  message = 'A service this request needs is temporarily unavailable; nothing was changed. Retry in a moment.',
): GraphQLError {
  return coded(ErrorCode.Unavailable, message);
}

/** A malformed GraphQL document. */
export function parseFailed(message: string): GraphQLError {
  return coded(ErrorCode.ParseFailed, message);
}

/** A document that does not fit the schema or the server's limits. */
export function validationFailed(message: string): GraphQLError {
  return coded(ErrorCode.ValidationFailed, message);
}

/** Whether `code` may be shown to a client as it is. */
export function isPublicCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && publicCodes.has(code);
}

/** A subscription whose client could not keep up; it may resubscribe (with `after`) to resume. */
export function subscriberLagging(): GraphQLError {
  return coded(
    ErrorCode.RateLimited,
    'This subscription fell too far behind and was ended; subscribe again (with `after` to resume without gaps).',
  );
}

/** A connection asked for more concurrent subscriptions than it may hold. */
export function tooManySubscriptions(max: number, per: 'connection' | 'user' = 'connection'): GraphQLError {
  return coded(
    ErrorCode.RateLimited,
    per === 'connection'
      ? `At most ${max} subscriptions may be open on one connection; complete one first.`
      : `At most ${max} subscriptions may be open for one user over all connections; complete one first.`,
    { max },
  );
}

/**
 * A user's HTTP operations being answered at once could together return more
 * than `limit` bytes (by the same estimate as the cost limit): one of them has
 * to be answered, and its answer read, first.
 */
export function tooMuchInFlight(limit: number): GraphQLError {
  return coded(
    ErrorCode.RateLimited,
    `Your operations being answered now could return more than ${limit.toLocaleString('en-US')} bytes together; ` +
      'read their answers before sending more, or ask for smaller pages.',
    { limit, retryAfterSeconds: 1 },
  );
}
