/**
 * An Apollo Client for the chat API: queries and mutations over HTTP,
 * subscriptions over graphql-ws on the same URL, both authenticated with the
 * same token, and a cache that pages history Relay-style.
 */
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition, relayStylePagination } from '@apollo/client/utilities';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** The client and its WebSocket connection (to watch or close it). */
export interface ChatClient {
  apollo: ApolloClient;
  ws: Client;
}

/** A client of the server at `httpUrl` (http://host:port/graphql), signed in with `token` when given. */
export function createChatClient(httpUrl: string, token?: string): ChatClient {
  const authorization = token ? `Bearer ${token}` : undefined;
  const ws = createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    // Node 20 has no global WebSocket; browsers and Node 22+ need no webSocketImpl.
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { authorization } : {},
    // Reconnects by itself; resubscribing with `after` (see main.ts) makes the history whole again.
    retryAttempts: 10,
    shouldRetry: () => true,
  });
  const http = new HttpLink({ uri: httpUrl, headers: authorization ? { authorization } : {} });
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
    },
    new GraphQLWsLink(ws),
    http,
  );
  const cache = new InMemoryCache({
    typePolicies: {
      Query: {
        fields: {
          // One list per conversation; pages fetched with `before` are prepended, `after` appended.
          messages: relayStylePagination(['conversationId']),
        },
      },
    },
  });
  return { apollo: new ApolloClient({ link, cache }), ws };
}
