import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { NextFunction, Request, Response } from 'express';

/** Where `pnpm run build` puts the bundled IDE (scripts/bundle-ide.mjs); the same from src/ and dist/. */
const IDE_DIR = path.resolve(import.meta.dirname, '../../dist/ide');

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Berth GraphQL</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="/graphql/ide/graphiql.css" />
  </head>
  <body>
    <div id="graphiql">Loading the GraphQL IDE...</div>
    <script src="/graphql/ide/graphiql.js"></script>
  </body>
</html>
`;

const ASSETS: Record<string, { file: string; type: string }> = {
  '/graphql/ide/graphiql.js': { file: 'graphiql.js', type: 'text/javascript; charset=utf-8' },
  '/graphql/ide/graphiql.css': { file: 'graphiql.css', type: 'text/css; charset=utf-8' },
};

/**
 * The GraphQL IDE (GraphiQL) for browsers: GET /graphql asking for HTML gets the page, whose script
 * and styles the gateway serves itself, so it works offline under the strict CSP. Other calls to
 * /graphql (POST, GET with a query, clients asking for JSON) go on to the GraphQL server.
 */
export function graphqlIde() {
  const cache = new Map<string, Buffer>();
  const read = (file: string) => {
    let body = cache.get(file);
    if (!body) cache.set(file, (body = readFileSync(path.join(IDE_DIR, file))));
    return body;
  };
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path === '/graphql' && req.query.query === undefined && req.accepts(['application/json', 'text/html']) === 'text/html') {
      if (!existsSync(path.join(IDE_DIR, 'graphiql.js'))) {
        res
          .status(503)
          .type('text/plain')
          .send('The GraphQL IDE is not built: run `pnpm run build` (scripts/bundle-ide.mjs). POST /graphql works without it.\n');
        return;
      }
      res.type('text/html; charset=utf-8').setHeader('cache-control', 'no-cache');
      res.send(PAGE);
      return;
    }
    const asset = ASSETS[req.path];
    if (!asset) return next();
    res.type(asset.type).setHeader('cache-control', 'no-cache');
    res.send(read(asset.file));
  };
}
