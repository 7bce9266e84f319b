import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { StoreUnavailableError } from './store/store';

/** The error codes of the public contract; nothing else reaches a client. */
export const ErrorCode = {
  Unauthenticated: 'UNAUTHENTICATED',
  Forbidden: 'FORBIDDEN',
  BadUserInput: 'BAD_USER_INPUT',
  NotFound: 'NOT_FOUND',
  Conflict: 'CONFLICT',
  RateLimited: 'RATE_LIMITED',
  ParseFailed: 'GRAPHQL_PARSE_FAILED',
  ValidationFailed: 'GRAPHQL_VALIDATION_FAILED',
  Internal: 'INTERNAL_SERVER_ERROR',
} as const;

/** One of the contract's error codes. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const publicCodes = new Set<string>(Object.values(ErrorCode));

/** Codes Apollo Server itself uses, mapped onto the contract's. */
const apolloCodes: Record<string, ErrorCode> = {
  BAD_REQUEST: ErrorCode.BadUserInput,
  PERSISTED_QUERY_NOT_FOUND: ErrorCode.BadUserInput,
  PERSISTED_QUERY_NOT_SUPPORTED: ErrorCode.BadUserInput,
  OPERATION_RESOLUTION_FAILURE: ErrorCode.BadUserInput,
};

function coded(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/** Missing, invalid or expired token; wrong password. */
export function unauthenticated(message = 'Authentication required: send "Authorization: Bearer <token>".'): GraphQLError {
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

/** The request conflicts with existing state, e.g. a taken username. */
export function conflict(why: string): GraphQLError {
  return coded(ErrorCode.Conflict, why);
}

/** Too many requests; `retryAfterSeconds` tells when to try again. */
export function rateLimited(retryAfterSeconds: number): GraphQLError {
  return coded(ErrorCode.RateLimited, `Too many requests; retry in ${retryAfterSeconds}s.`, { retryAfterSeconds });
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

/** Options of `createErrorFormatter`. */
export interface ErrorFormatterOptions {
  /** Keep stack traces and internal messages in responses. @default false */
  development: boolean;
  /** Where errors that are not the client's fault are reported. */
  logError: (message: string, error: unknown) => void;
}

/**
 * The one place errors are shaped for clients (HTTP and WebSocket alike):
 * errors with a contract code keep their message; anything else is logged
 * and becomes a generic INTERNAL_SERVER_ERROR.
 */
export function createErrorFormatter({ development, logError }: ErrorFormatterOptions) {
  return function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
    const rawCode = formatted.extensions?.code;
    const code = typeof rawCode === 'string' ? (apolloCodes[rawCode] ?? rawCode) : undefined;
    if (isPublicCode(code) && code !== ErrorCode.Internal) {
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions: development ? { ...formatted.extensions, code } : { ...extensions, code } };
    }
    const cause = unwrapResolverError(error);
    logError('internal error', cause);
    if (development) return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.Internal } };
    return {
      message:
        cause instanceof StoreUnavailableError
          ? 'The service is temporarily unavailable; nothing was changed. Retry in a moment.'
          : 'Internal server error.',
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: ErrorCode.Internal },
    };
  };
}

/** A subscription whose client could not keep up; it may resubscribe (with `after`) to resume. */
export function subscriberLagging(): GraphQLError {
  return coded(
    ErrorCode.RateLimited,
    'This subscription fell too far behind and was ended; subscribe again (with `after` to resume without gaps).',
  );
}

/** A connection asked for more concurrent subscriptions than it may hold. */
export function tooManySubscriptions(max: number): GraphQLError {
  return coded(ErrorCode.RateLimited, `At most ${max} subscriptions may be open on one connection; complete one first.`, { max });
}
