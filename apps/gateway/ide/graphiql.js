// The GraphQL IDE the gateway serves at /graphql (GET, Accept: text/html): GraphiQL bundled at
// build time by scripts/bundle-ide.mjs, so the page loads nothing but the gateway's own files and
// runs under its strict content security policy (no CDN, no inline script).
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { getOperationAST, parse } from 'graphql';
import { createClient } from 'graphql-ws';
import 'graphiql/style.css';
import './page.css';

const httpUrl = new URL('/graphql', window.location.href).toString();
const wsUrl = httpUrl.replace(/^http/, 'ws');

function isSubscription({ query, operationName }) {
  try {
    return getOperationAST(parse(query), operationName)?.operation === 'subscription';
  } catch {
    return false;
  }
}

/** Queries and mutations over HTTP; subscriptions over graphql-ws, the headers (token) as connection parameters. */
async function fetcher(params, options = {}) {
  const headers = { ...options.headers };
  if (isSubscription(params)) {
    const client = createClient({ url: wsUrl, connectionParams: headers, lazy: true, retryAttempts: 0 });
    const results = client.iterate(params);
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      next: () => results.next(),
      async return() {
        await results.return?.();
        await client.dispose();
        return { done: true, value: undefined };
      },
    };
  }
  const response = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(params),
  });
  return response.json();
}

const defaultHeaders = JSON.stringify({ authorization: 'Bearer berth_...' }, null, 2);
createRoot(document.getElementById('graphiql')).render(
  createElement(GraphiQL, { fetcher, defaultHeaders, defaultEditorToolsVisibility: 'headers', shouldPersistHeaders: false }),
);
