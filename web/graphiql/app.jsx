// GraphiQL for the chat API, bundled at build time (scripts/build-graphiql.mjs) and served by the server
// itself at GET /graphql: no CDN, no request anywhere but this server. Queries and mutations go over HTTP,
// subscriptions over graphql-ws on the same URL; the token typed above the editor is sent as the
// Authorization header and in the WebSocket's connectionParams alike.
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import { createClient } from 'graphql-ws';
import { useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import './app.css';

const httpUrl = new URL(window.location.pathname, window.location.href).href;
const wsUrl = httpUrl.replace(/^http/, 'ws');
const TOKEN_KEY = 'chat-api:token';

const defaultQuery = `# Paste a token from signUp or logIn above, then run an operation.
# Subscriptions run over WebSocket on this same URL, for example:
#
# subscription { messageAdded { id conversationId content sender { username } } }

query Me {
  me { id username displayName }
}
`;

function App() {
  const [token, setToken] = useState(() => window.localStorage.getItem(TOKEN_KEY) ?? '');
  const bare = token.trim().replace(/^Bearer\s+/i, '');
  const authorization = bare ? `Bearer ${bare}` : null;

  const wsClient = useMemo(
    () =>
      createClient({
        url: wsUrl,
        lazy: true,
        connectionParams: authorization ? { authorization } : {},
      }),
    [authorization],
  );
  // A new token is a new connection: the old one's subscriptions end with it.
  useEffect(() => () => void wsClient.dispose(), [wsClient]);

  const fetcher = useMemo(
    () =>
      createGraphiQLFetcher({
        url: httpUrl,
        headers: authorization ? { authorization } : {},
        wsClient,
      }),
    [authorization, wsClient],
  );

  return (
    <div className="chat-graphiql">
      <form className="chat-token" onSubmit={(event) => event.preventDefault()}>
        <label htmlFor="chat-token">Token</label>
        <input
          id="chat-token"
          type="password"
          autoComplete="off"
          placeholder="a token from signUp or logIn: sent as Authorization and as the WebSocket's connectionParams"
          value={token}
          onChange={(event) => {
            setToken(event.target.value);
            window.localStorage.setItem(TOKEN_KEY, event.target.value);
          }}
        />
        <span className="chat-token-state">{authorization ? 'signed in' : 'not signed in'}</span>
      </form>
      <div className="chat-editor">
        <GraphiQL fetcher={fetcher} defaultQuery={defaultQuery} />
      </div>
    </div>
  );
}

createRoot(document.getElementById('root')).render(<App />);
