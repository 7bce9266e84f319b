import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode, isPublicCode, unavailable } from '../contract/errors';
import { UnavailableError } from '../lib/unavailable';
import { withoutSuggestions } from './suggestions';

/** Codes Apollo Server itself uses, mapped onto the contract's. */
const apolloCodes: Record<string, ErrorCode> = {
  BAD_REQUEST: ErrorCode.BadUserInput,
  PERSISTED_QUERY_NOT_FOUND: ErrorCode.BadUserInput,
  PERSISTED_QUERY_NOT_SUPPORTED: ErrorCode.BadUserInput,
  OPERATION_RESOLUTION_FAILURE: ErrorCode.BadUserInput,
};

/** Options of `createErrorFormatter`. */
export interface ErrorFormatterOptions {
  /** Keep stack traces and internal messages in responses. @default false */
  development: boolean;
  /** Where errors that are not the client's fault are reported. */
  logError: (message: string, error: unknown) => void;
  /** Where failures of a backing service are reported (an outage, not a bug). @default logError */
  logUnavailable?: (message: string, error: unknown) => void;
  /** Told the code of every error answered. @default nothing */
  onError?: (code: string) => void;
  /**
   * Strip the schema's names that graphql-js suggests ("Did you mean ...?") from
   * every message: for when introspection is off. @default false
   */
  hideSchemaDetails?: boolean;
}

/**
 * The one place errors are shaped for clients (HTTP and WebSocket alike):
 * a backing service's outage becomes UNAVAILABLE; errors with a contract code
 * keep their message (less any schema suggestion, with `hideSchemaDetails`);
 * anything else is logged and becomes a generic INTERNAL_SERVER_ERROR.
 */
export function createErrorFormatter(options: ErrorFormatterOptions) {
  const { onError = () => undefined, hideSchemaDetails = false } = options;
  const format = createFormat(options);
  return function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
    const shaped = format(formatted, error);
    onError(String(shaped.extensions?.code ?? ErrorCode.Internal));
    // Apollo's hideSchemaDetailsFromClientErrors strips validation errors only; variables' coercion
    // errors ("Did you mean the enum value ...?") come later, and WebSocket errors never pass Apollo.
    if (!hideSchemaDetails) return shaped;
    // Apollo's refusal names its constructor option; operators set a variable.
    const message = shaped.message.startsWith(APOLLO_INTROSPECTION_REFUSED)
      ? 'Introspection is off on this server: set INTROSPECTION=true to allow it (GraphiQL and codegen need it).'
      : withoutSuggestions(shaped.message);
    return { ...shaped, message };
  };
}

/** How Apollo Server's message begins when it refuses an introspection query. */
const APOLLO_INTROSPECTION_REFUSED = 'GraphQL introspection is not allowed';

function createFormat({ development, logError, logUnavailable = logError }: ErrorFormatterOptions) {
  return function format(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
    const cause = unwrapResolverError(error);
    if (cause instanceof UnavailableError) {
      logUnavailable('unavailable', cause.message);
      const { message, extensions } = (
        cause.uncertain
          ? unavailable(
              'The database did not answer in time; the change may or may not have been made. ' +
                'Retry in a moment (a message with the same clientMessageId is stored at most once).',
            )
          : unavailable()
      ).toJSON();
      return {
        message,
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions,
      };
    }
    const rawCode = formatted.extensions?.code;
    const code = typeof rawCode === 'string' ? (apolloCodes[rawCode] ?? rawCode) : undefined;
    if (isPublicCode(code) && code !== ErrorCode.Internal) {
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions: development ? { ...formatted.extensions, code } : { ...extensions, code } };
    }
    logError('internal error', cause);
    if (development) return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.Internal } };
    return {
      message: 'Internal server error.',
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: ErrorCode.Internal },
    };
  };
}
