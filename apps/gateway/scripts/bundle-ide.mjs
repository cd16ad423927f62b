// Bundles the GraphQL IDE (ide/graphiql.js: GraphiQL, React, graphql-ws from npm) into
// dist/ide/graphiql.js and dist/ide/graphiql.css, which the gateway serves itself.
// Part of `pnpm run build`; nothing is fetched at run time.
import { build } from 'esbuild';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
await build({
  entryPoints: [path.join(root, 'ide/graphiql.js')],
  outfile: path.join(root, 'dist/ide/graphiql.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2022',
  platform: 'browser',
  define: { 'process.env.NODE_ENV': '"production"' },
  loader: { '.woff': 'dataurl', '.woff2': 'dataurl', '.svg': 'dataurl' },
  legalComments: 'linked',
  logLevel: 'warning',
});
