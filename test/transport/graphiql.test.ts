import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { gql, gqlOk, signUpMany } from '../helpers/client';
import { CREATE_GROUP, SEND } from '../helpers/operations';
import { startTestServer, useTestServer } from '../helpers/server';

/** Debian's chromium, which .ci/run installs; CHROMIUM_PATH overrides. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `SKIPPED: the GraphiQL browser test needs chromium at ${CHROMIUM} (apt-get install chromium); .ci/run installs it.`;
  if (process.env.CI) throw new Error(`${message} In CI it must run.`);
  // eslint-disable-next-line no-console
  console.warn(`\n${message}\n`);
  return false;
}

const local = (url: string) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);

(browserAvailable() ? describe : describe.skip)('GraphiQL in a browser, offline', () => {
  const server = useTestServer();
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('runs a subscription with the pasted token and shows a message sent meanwhile, never leaving 127.0.0.1', async () => {
    const [alice, bob] = await signUpMany(server.url, 2, 'browser');
    const c = (await gqlOk(server.url, CREATE_GROUP, { t: 'g', m: [bob!.id] }, alice!.token)).createGroup.id;
    const context = await browser.newContext();
    const leaving: string[] = [];
    // Every request that would leave this machine fails the test (and is refused, as offline it would be).
    await context.route('**/*', (route) => {
      if (local(route.request().url())) return route.continue();
      leaving.push(route.request().url());
      return route.abort();
    });
    const page = await context.newPage();
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));

    await page.goto(server.url.replace('127.0.0.1', 'localhost'));
    await page.waitForSelector('.graphiql-query-editor .CodeMirror', { timeout: 30_000 });
    await page.fill('#chat-token', bob!.token);
    // The editor is CodeMirror 5: set the text through its API, as typing would.
    const query = 'subscription Live { messageAdded { content sender { username } } }';
    await page.evaluate(
      `document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(${JSON.stringify(query)})`,
    );
    await page.click('.graphiql-execute-button');
    await server.pubsub.waitForSubscribers('messageAdded', bob!.id, 1, 15_000);

    await gqlOk(server.url, SEND, { c, t: 'seen in the browser' }, alice!.token);
    await page.waitForFunction(
      `document.querySelector('.graphiql-response')?.textContent?.includes('seen in the browser')`,
      undefined,
      { timeout: 15_000 },
    );
    const response = await page.textContent('.graphiql-response');
    expect(response).toContain(alice!.username);

    expect(leaving).toEqual([]);
    expect(sockets.length).toBeGreaterThan(0);
    expect(sockets.every(local)).toBe(true);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});

describe('GraphiQL and introspection switches', () => {
  it('serves the page to browsers by default, and leaves GET for JSON to Apollo', async () => {
    const server = await startTestServer();
    try {
      const page = await fetch(server.url, { headers: { accept: 'text/html,*/*;q=0.8' } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('/graphiql/app.js');
      expect((await fetch(server.url.replace('/graphql', '/graphiql/app.js'))).status).toBe(200);
      const json = await fetch(`${server.url}?query=${encodeURIComponent('{ __typename }')}`, {
        headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
      });
      expect(json.headers.get('content-type')).toMatch(/json/);
    } finally {
      await server.stop();
    }
  });

  it('turns both off in production, each on again by its variable', async () => {
    const production = await startTestServer({ env: { NODE_ENV: 'production' } });
    try {
      const page = await fetch(production.url, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(404);
      expect(await page.text()).toMatch(/GRAPHIQL/);
      const introspection = await gql(production.url, '{ __schema { queryType { name } } }');
      expect(introspection.errors?.[0]?.message).toMatch(/introspection/i);
      // The refusal names the variable that turns it on, not Apollo's constructor option.
      expect(introspection.errors?.[0]?.message).toMatch(/INTROSPECTION=true/);
    } finally {
      await production.stop();
    }
    const opened = await startTestServer({ env: { NODE_ENV: 'production', GRAPHIQL: 'true', INTROSPECTION: 'false' } });
    try {
      expect((await fetch(opened.url, { headers: { accept: 'text/html' } })).status).toBe(200);
      expect((await gql(opened.url, '{ __schema { queryType { name } } }')).errors).toBeDefined();
    } finally {
      await opened.stop();
    }
  });
});
