import { loadConfig, ConfigError } from '../../src/config';
import { startTestServer, type TestServer } from '../helpers/server';

/** Issue 20: "/metrics is open on the public port". Each case is a stranger asking the public port. */
const TOKEN = 'scraper-token-0123456789';
const metricsOf = (server: TestServer) => server.url.replace('/graphql', '/metrics');
const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });

describe('GET /metrics, asked by anyone who can reach the public port', () => {
  const servers: TestServer[] = [];
  const start = async (env: Record<string, string>) => {
    const server = await startTestServer({ env });
    servers.push(server);
    return server;
  };
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });

  it('is not served in production without METRICS_TOKEN or METRICS_PORT', async () => {
    const server = await start({ NODE_ENV: 'production' });
    const res = await get(metricsOf(server));
    expect(res.status).toBe(404);
    expect(await res.text()).not.toMatch(/chat_/);
  });

  it('in production with METRICS_TOKEN, is refused (401) without the token or with another, and served with it', async () => {
    const server = await start({ NODE_ENV: 'production', METRICS_TOKEN: TOKEN });
    const anonymous = await get(metricsOf(server));
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(await anonymous.text()).not.toMatch(/chat_/);
    const wrong = await get(metricsOf(server), { authorization: `Bearer ${TOKEN}x` });
    expect(wrong.status).toBe(401);
    const scraper = await get(metricsOf(server), { authorization: `Bearer ${TOKEN}` });
    expect(scraper.status).toBe(200);
    expect(await scraper.text()).toMatch(/^chat_ws_connections 0$/m);
  });

  it('with METRICS_PORT, is served there alone: the public port answers 404, and stop() closes the listener', async () => {
    const server = await start({ METRICS_PORT: '0' });
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(server.metricsUrl!).port).not.toBe(String(server.port));
    expect((await get(metricsOf(server))).status).toBe(404);
    const scraped = await get(server.metricsUrl!);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/^chat_ws_connections 0$/m);
    // Nothing else is served there.
    expect((await get(server.metricsUrl!.replace('/metrics', '/graphql'))).status).toBe(404);
    expect((await get(server.metricsUrl!.replace('/metrics', '/healthz'))).status).toBe(404);

    servers.splice(servers.indexOf(server), 1);
    await server.stop();
    await expect(get(server.metricsUrl!)).rejects.toThrow();
  });

  it('with METRICS_PORT and METRICS_TOKEN, asks for the token on that port too', async () => {
    const server = await start({ NODE_ENV: 'production', METRICS_PORT: '0', METRICS_TOKEN: TOKEN });
    expect((await get(metricsOf(server), { authorization: `Bearer ${TOKEN}` })).status).toBe(404);
    expect((await get(server.metricsUrl!)).status).toBe(401);
    expect((await get(server.metricsUrl!, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });

  it('is still served openly on the public port outside production (development, tests)', async () => {
    const server = await start({});
    expect(server.metricsUrl).toBeNull();
    expect((await get(metricsOf(server))).status).toBe(200);
  });
});

describe('metrics settings', () => {
  it('refuse a short METRICS_TOKEN and a METRICS_PORT equal to PORT, naming the variable', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
    expect(() => loadConfig({ PORT: '4000', METRICS_PORT: '4000' })).toThrow(/METRICS_PORT/);
    expect(() => loadConfig({ METRICS_PORT: 'nine' })).toThrow(/METRICS_PORT/);
  });
});
