import type { ApolloServerPlugin } from '@apollo/server';
import type { Context } from '../../../resolvers/context';

/** Runs `drain` when Apollo drains, after the HTTP server stopped accepting: ends the WebSocket side. */
export function drainWebSockets(drain: () => Promise<void>): ApolloServerPlugin<Context> {
  return { serverWillStart: async () => ({ drainServer: drain }) };
}
