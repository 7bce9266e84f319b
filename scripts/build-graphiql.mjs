// Bundles GraphiQL (web/graphiql) into dist/graphiql with esbuild: app.js, app.css and index.html, everything
// the page needs, so that GET /graphql works offline. Run by `npm run build`.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'graphiql');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'web', 'graphiql', 'app.jsx')],
  outfile: join(out, 'app.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022'],
  jsx: 'automatic',
  // Fonts and images referenced by the stylesheets are inlined: nothing is fetched from anywhere else.
  loader: { '.woff': 'dataurl', '.woff2': 'dataurl', '.ttf': 'dataurl', '.svg': 'dataurl', '.png': 'dataurl' },
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(join(root, 'web', 'graphiql', 'index.html'), join(out, 'index.html'));
