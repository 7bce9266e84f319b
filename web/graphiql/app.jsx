// GraphiQL for the chat API, bundled at build time (scripts/build-graphiql.mjs) and served by the server
// itself at GET /graphql: no CDN, no request anywhere but this server. Queries and mutations go over HTTP,
// subscriptions over graphql-ws on the same URL. The page signs in (session.js), tells who it is signed in
// as (status.js), and runs GraphiQL's operations with that token or the Headers pane's (fetcher.js).
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import { createRoot } from 'react-dom/client';
import './app.css';
import { createFetcher } from './fetcher.js';
import { createSession } from './session.js';
import { SignInBar } from './signin.jsx';
import { createStatus } from './status.js';

const httpUrl = new URL(window.location.pathname, window.location.href).href;
const wsUrl = httpUrl.replace(/^http/, 'ws');

const defaultQuery = `# Log in above (the page renews its token by itself), or paste a token, then run an operation.
# Subscriptions run over WebSocket on this same URL, for example:
#
# subscription { messageAdded { id conversationId content sender { username } } }

query Me {
  me { id username displayName }
}
`;

const session = createSession(httpUrl);
const status = createStatus(httpUrl, session);
const fetcher = createFetcher({ httpUrl, wsUrl, session, onRefused: status.recheck });

function App() {
  return (
    <div className="chat-graphiql">
      <SignInBar session={session} status={status} />
      <div className="chat-editor">
        <GraphiQL fetcher={fetcher} defaultQuery={defaultQuery} />
      </div>
    </div>
  );
}

createRoot(document.getElementById('root')).render(<App />);
