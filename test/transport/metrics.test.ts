import { gql, gqlOk, signUpMany, subscribe, wsClient } from '../helpers/client';
import { CREATE_GROUP, MESSAGE_ADDED_IDS, SEND } from '../helpers/operations';
import { useTestServer } from '../helpers/server';

/** The value of one sample of the Prometheus text, 0 when absent. */
function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('GET /metrics', () => {
  const server = useTestServer({ env: { MESSAGE_RATE_BURST: '3', MESSAGE_RATE_PER_SECOND: '0.01' } });
  const scrape = async () => {
    const res = await fetch(server.url.replace('/graphql', '/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };

  it('counts connections, subscriptions, messages, deliveries, latency, errors and refusals', async () => {
    const before = await scrape();
    const [alice, bob, carol] = await signUpMany(server.url, 3, 'metrics');
    const c = (await gqlOk(server.url, CREATE_GROUP, { t: 'm', m: [bob!.id, carol!.id] }, alice!.token)).createGroup.id;
    const clients = [bob!, carol!].map((u) => wsClient(server.wsUrl, u.token));
    const subs = clients.map((client) => subscribe(client, MESSAGE_ADDED_IDS));
    const events = subscribe(clients[0]!, 'subscription { conversationEvent { __typename } }');
    await server.pubsub.waitForSubscribers('messageAdded', bob!.id, 2);
    await server.pubsub.waitForSubscribers('messageAdded', carol!.id);

    const during = await scrape();
    expect(sample(during, 'chat_ws_connections')).toBe(sample(before, 'chat_ws_connections') + 2);
    expect(sample(during, 'chat_subscriptions', '{field="messageAdded"}')).toBe(2);
    expect(sample(during, 'chat_subscriptions', '{field="conversationEvent"}')).toBe(1);

    for (let i = 0; i < 3; i++) await gqlOk(server.url, SEND, { c, t: `m${i}` }, alice!.token);
    for (const sub of subs) await sub.take(3);
    // The fourth is refused by the message rate limit; an unknown conversation is FORBIDDEN, as one the sender is not in.
    await gql(server.url, SEND, { c, t: 'one too many' }, alice!.token);
    await gql(server.url, SEND, { c: '42', t: 'nowhere' }, alice!.token);

    const after = await scrape();
    expect(sample(after, 'chat_messages_sent_total')).toBe(sample(before, 'chat_messages_sent_total') + 3);
    expect(sample(after, 'chat_deliveries_total')).toBe(sample(before, 'chat_deliveries_total') + 6);
    expect(sample(after, 'chat_send_to_publish_seconds_count')).toBe(3);
    expect(sample(after, 'chat_rate_limited_total', '{limit="messages"}')).toBe(1);
    expect(sample(after, 'chat_errors_total', '{code="RATE_LIMITED"}')).toBe(1);
    expect(sample(after, 'chat_errors_total', '{code="FORBIDDEN"}')).toBe(1);
    expect(after).toContain('chat_pubsub_reconnects_total 0');
    expect(after).toContain('chat_process_cpu_user_seconds_total');
    expect(after).toContain('chat_nodejs_eventloop_lag_seconds');

    events.dispose();
    await Promise.all(clients.map((client) => client.dispose()));
    for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
      if (sample(await scrape(), 'chat_ws_connections') === sample(before, 'chat_ws_connections')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const closed = await scrape();
    expect(sample(closed, 'chat_ws_connections')).toBe(sample(before, 'chat_ws_connections'));
    expect(sample(closed, 'chat_subscriptions', '{field="messageAdded"}')).toBe(0);
    expect(sample(closed, 'chat_subscriptions', '{field="conversationEvent"}')).toBe(0);
  });
});
