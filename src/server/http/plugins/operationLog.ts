import type { ApolloServerPlugin } from '@apollo/server';
import type { Services } from '../../../app/services';
import type { Context } from '../../../resolvers/context';

/**
 * One debug line per HTTP operation (request id, operation, user, time, error
 * codes; never variables, which hold passwords), and the request id in every
 * error's extensions, so that a client's report finds the line.
 */
export function operationLog(services: Services): ApolloServerPlugin<Context> {
  return {
    requestDidStart: async ({ contextValue }) => {
      const started = performance.now();
      return {
        willSendResponse: async ({ response, operation, operationName }) => {
          const body = response.body;
          const errors = body.kind === 'single' ? body.singleResult.errors : undefined;
          for (const error of errors ?? []) {
            (error as { extensions?: Record<string, unknown> }).extensions = {
              ...error.extensions,
              requestId: contextValue.requestId,
            };
          }
          if (!services.log.debugEnabled) return;
          services.log.debug('http operation', {
            requestId: contextValue.requestId,
            operation: operation?.operation ?? null,
            operationName: operationName ?? null,
            userId: 'userId' in contextValue.auth ? contextValue.auth.userId : null,
            ms: Math.round((performance.now() - started) * 10) / 10,
            errors: (errors ?? []).map((e) => e.extensions?.code ?? null),
          });
        },
      };
    },
  };
}
