// Writes dist/bundle.js, the module the package exports: the driver (from tsc's dist/index.js) with
// @kubernetes/client-node and its dependencies inlined, tree-shaken to what the driver uses and
// minified. Loaded as published, client-node is about 1,000 modules (every API group and model) and
// costs a process ~100 MB of resident memory; this bundle costs it about 25 MB. Part of
// `pnpm run build`; the tests run the TypeScript sources against the package itself. Stack traces
// keep function and class names; `node --enable-source-maps` maps them to dist/*.js.
import { build } from 'esbuild';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/** Inlines client-node and everything it imports; leaves every other package (@berth/*) to Node. */
const inlineClientNode = {
  name: 'inline-client-node',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@kubernetes/client-node') || args.importer.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      return { path: args.path, external: true };
    });
  },
};

await build({
  entryPoints: [path.join(root, 'dist/index.js')],
  outfile: path.join(root, 'dist/bundle.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  sourcesContent: false,
  // CommonJS dependencies of client-node call require(): give the ES module one
  banner: { js: 'import{createRequire as __berthRequire}from"node:module";const require=__berthRequire(import.meta.url);' },
  // optional native speed-ups of ws, loaded in try/catch when installed
  external: ['bufferutil', 'utf-8-validate', '*.node'],
  plugins: [inlineClientNode],
  legalComments: 'linked',
  logLevel: 'warning',
});
