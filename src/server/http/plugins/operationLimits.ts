import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Services } from '../../../app/services';
import { ErrorCode, tooMuchInFlight } from '../../../contract/errors';
import { operationCost } from '../../../execution/costModel';
import { createInFlightLimit } from '../../../lib/inFlight';
import type { Context } from '../../../resolvers/context';

/**
 * What an HTTP operation may make the server do, checked once it is parsed and
 * validated and before any resolver runs: no subscription (400, naming the
 * WebSocket URL), an answer within MAX_QUERY_COST_BYTES (400), and, per user
 * (or address), answers in flight within MAX_QUERY_COST_BYTES_IN_FLIGHT (429).
 */
export function operationLimits(schema: GraphQLSchema, services: Services): ApolloServerPlugin<Context> {
  const { config } = services;
  const inFlight = createInFlightLimit(config.maxQueryCostBytesInFlight);
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ operation, operationName, document, request, contextValue }) => {
        // A subscription cannot run over HTTP: say where it can, as the client's mistake (400), before any work.
        if (operation?.operation === 'subscription') {
          const host = request.http?.headers.get('host');
          const url = config.publicUrl ?? (host ? `ws://${host}/graphql` : 'this endpoint over WebSocket');
          throw new GraphQLError(`Subscriptions use the graphql-ws protocol: connect to ${url} and subscribe there.`, {
            extensions: { code: ErrorCode.BadUserInput, http: { status: 400 } },
          });
        }
        const { cost, error } = operationCost(
          { schema, document, operationName, variables: request.variables },
          config.maxQueryCostBytes,
        );
        if (error) {
          throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });
        }
        // What is being answered is held until the client has taken it (or is cut off): a user's
        // clients that ask for large answers and do not read them cannot pile them up here.
        const { auth, clientAddress } = contextValue;
        const release = inFlight.take('userId' in auth ? `user ${auth.userId}` : `address ${clientAddress}`, cost);
        if (!release) {
          services.metrics.rateLimited.inc({ limit: 'in-flight' });
          const refused = tooMuchInFlight(config.maxQueryCostBytesInFlight);
          throw new GraphQLError(refused.message, { extensions: { ...refused.extensions, http: { status: 429 } } });
        }
        void (contextValue.responseOver ?? Promise.resolve()).then(release);
      },
    }),
  };
}
