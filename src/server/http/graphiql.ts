import express, { type Express, type RequestHandler } from 'express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where `npm run build` puts the GraphiQL bundle (scripts/build-graphiql.mjs): in dist/, whether this runs from dist or src. */
const graphiqlDirs = [join(__dirname, '..', '..', 'graphiql'), join(__dirname, '..', '..', '..', 'dist', 'graphiql')];

/**
 * GraphiQL for browsers: GET /graphql asking for HTML gets the page, its
 * assets come from /graphiql/. Everything is in the bundle; the page makes no
 * request to any other host. Off (GRAPHIQL=false), such a GET says so.
 */
export function serveGraphiql(app: Express, enabled: boolean): void {
  const dir = graphiqlDirs.find((d) => existsSync(join(d, 'index.html')));
  const page: RequestHandler = (req, res, next) => {
    // GraphQL over GET (and anything not preferring HTML) stays with Apollo.
    if (req.accepts(['application/json', 'text/html']) !== 'text/html') return next();
    if (!enabled) {
      res.status(404).type('text/plain').send('GraphiQL is off on this server (GRAPHIQL=false).\n');
    } else if (!dir) {
      res.status(503).type('text/plain').send('GraphiQL is not built: run `npm run build`.\n');
    } else {
      res.sendFile(join(dir, 'index.html'));
    }
  };
  app.get('/graphql', page);
  if (enabled && dir) app.use('/graphiql', express.static(dir, { index: false, maxAge: '1h' }));
}
