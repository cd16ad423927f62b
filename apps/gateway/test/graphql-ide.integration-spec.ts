import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { ADMIN_TOKEN, type RunningGateway, startGatewayWithCluster } from './harness.js';

jest.setTimeout(120_000);

/** The text of the CodeMirror editor inside `selector` (GraphiQL's query, headers and response panes). */
const editorText = (page: Page, selector: string) =>
  page.$eval(`${selector} .CodeMirror`, (el) => (el as unknown as { CodeMirror: { getValue(): string } }).CodeMirror.getValue());

/** Replaces an editor's content by typing, as a user does (select all, then type). */
async function typeInto(page: Page, selector: string, text: string) {
  await page.click(`${selector} .CodeMirror`);
  await page.keyboard.down('Control');
  await page.keyboard.press('KeyA');
  await page.keyboard.up('Control');
  await page.keyboard.press('Backspace');
  await page.keyboard.type(text);
  await page.keyboard.press('Escape'); // closes an open autocompletion list
}

async function run(page: Page): Promise<string> {
  const before = await editorText(page, '.graphiql-response');
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(
    (previous) => {
      const el = document.querySelector('.graphiql-response .CodeMirror') as unknown as { CodeMirror: { getValue(): string } } | null;
      const text = el?.CodeMirror.getValue() ?? '';
      return text !== '' && text !== previous;
    },
    { timeout: 20_000 },
    before,
  );
  return editorText(page, '.graphiql-response');
}

describe('the GraphQL IDE at /graphql (Chromium, offline, under the gateway CSP)', () => {
  let gw: RunningGateway;
  let browser: Browser;
  let page: Page;
  let dir: string;
  const foreign: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    gw = await startGatewayWithCluster('swarm', 'berth_ide');
    dir = await mkdtemp(path.join(tmpdir(), 'berth-graphql-ide-'));
    browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    // every request must go to the gateway: anything else (a CDN) is refused and recorded
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      if (req.url().startsWith(gw.url) || req.url().startsWith('data:')) return void req.continue();
      foreign.push(req.url());
      void req.abort();
    });
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(msg.text());
    });
    page.on('pageerror', (err) => problems.push(String(err)));
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('answers a query typed into GraphiQL, with the token typed into the headers', async () => {
    const res = await page.goto(`${gw.url}/graphql`, { waitUntil: 'networkidle0' });
    expect(res?.status()).toBe(200);
    // the strict policy, not the relaxed one of /docs
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 20_000 });

    await typeInto(page, '.graphiql-query-editor', '{ clusters { name kind health { status } } }');
    expect(await editorText(page, '.graphiql-query-editor')).toBe('{ clusters { name kind health { status } } }');

    // the placeholder token of the headers editor is refused
    const refused = JSON.parse(await run(page));
    expect(refused.errors[0].extensions.code).toBe('UNAUTHENTICATED');

    await page.click('.graphiql-editor-tools button:nth-of-type(2)'); // the "Headers" tab
    await page.waitForSelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
    await typeInto(page, '.graphiql-editor-tool .graphiql-editor:not(.hidden)', `{"authorization": "Bearer ${ADMIN_TOKEN}"}`);
    const answer = JSON.parse(await run(page));
    expect(answer.errors).toBeUndefined();
    expect(answer.data.clusters).toContainEqual({ name: 'c1', kind: 'SWARM', health: { status: 'HEALTHY' } });

    const screenshot = path.join(dir, 'graphiql.png');
    await page.screenshot({ path: screenshot });
    expect((await stat(screenshot)).size).toBeGreaterThan(10_000);
    console.log(`GraphiQL screenshot: ${screenshot}`);

    expect(foreign).toEqual([]);
    expect(problems.filter((p) => !p.includes('401'))).toEqual([]);
  });

  it('leaves POST /graphql and JSON clients to the GraphQL server', async () => {
    expect((await gw.graphql('{ clusters { name } }')).data.clusters).toContainEqual({ name: 'c1' });
    const json = await fetch(`${gw.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, 'apollo-require-preflight': 'true' },
    });
    expect(json.headers.get('content-type')).toContain('application/json');
    expect(await json.json()).toEqual({ data: { __typename: 'Query' } });
  });
});
