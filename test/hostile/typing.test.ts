/**
 * The attacker's typing toggles: requests of hundreds of aliased
 * setTyping(true)/setTyping(false) pairs, each pair meant to be published to
 * every member. What reaches the members' channels is counted.
 */
import { gqlOk, signUpMany, subscribe, wsClient, type TestUser } from '../helpers/client';
import { probeEvents, useCluster } from '../helpers/cluster';
import { CONVERSATION_EVENT, CREATE_GROUP } from '../helpers/operations';
import type { ServerProcess } from '../helpers/process';
import { useTestServer } from '../helpers/server';

const toggles = (pairs: number) =>
  `mutation($c: ID!) { ${Array.from(
    { length: pairs },
    (_, i) => `t${i}: setTyping(conversationId: $c, typing: true) f${i}: setTyping(conversationId: $c, typing: false)`,
  ).join(' ')} }`;

describe('typing toggled true and false in aliased pairs', () => {
  const server = useTestServer();

  it('publishes no more than the throttle allows typing alone: one start and one stop per 2 s window', async () => {
    const [attacker, member] = await signUpMany(server.url, 2, 'toggle');
    const c = (await gqlOk(server.url, CREATE_GROUP, { t: 'toggles', m: [member!.id] }, attacker!.token)).createGroup
      .id;
    const published: boolean[] = [];
    const channel = await server.pubsub.subscribe('conversationEvent', member!.id);
    void (async () => {
      for (;;) {
        const { value, done } = await channel.next();
        if (done) return;
        if (typeof value === 'object' && value.type === 'typing') published.push(value.typing);
      }
    })();
    const started = Date.now();
    // 20 requests of 240 pairs: 9,600 announcements before the fix.
    for (let i = 0; i < 20; i++) await gqlOk(server.url, toggles(240), { c }, attacker!.token);
    const windows = Math.ceil((Date.now() - started) / 2000) + 1;
    await new Promise((r) => setTimeout(r, 200));
    await channel.return();
    expect(published.length).toBeGreaterThanOrEqual(2);
    expect(published.length).toBeLessThanOrEqual(2 * windows);
    // Starts and stops alternate: a stop is said only after a start, never twice.
    published.forEach((typing, i) => expect(typing).toBe(i % 2 === 0));
  }, 60_000);

  it('publishes nothing for a stop when typing was not shown', async () => {
    const [attacker, member] = await signUpMany(server.url, 2, 'stop');
    const c = (await gqlOk(server.url, CREATE_GROUP, { t: 'stops', m: [member!.id] }, attacker!.token)).createGroup.id;
    const channel = await server.pubsub.subscribe('conversationEvent', member!.id);
    const stops = `mutation($c: ID!) { ${Array.from({ length: 100 }, (_, i) => `f${i}: setTyping(conversationId: $c, typing: false)`).join(' ')} }`;
    await gqlOk(server.url, stops, { c }, attacker!.token);
    // A start after them is the first thing published.
    await gqlOk(
      server.url,
      'mutation($c: ID!) { setTyping(conversationId: $c, typing: true) }',
      { c },
      attacker!.token,
    );
    expect((await channel.next()).value).toMatchObject({ type: 'typing', typing: true });
    await channel.return();
  });
});

describe('typing toggled through two processes sharing Redis', () => {
  const cluster = useCluster();
  let a: ServerProcess;
  let b: ServerProcess;
  beforeAll(async () => {
    [a, b] = await Promise.all([cluster.current.start(), cluster.current.start()]);
  }, 60_000);

  it('publishes at most one start and one stop per window, whichever process each request reaches', async () => {
    const [attacker, member] = (await signUpMany(a.url, 2, 'toggle2')) as TestUser[];
    const c = (await gqlOk(a.url, CREATE_GROUP, { t: 'toggles', m: [member!.id] }, attacker!.token)).createGroup.id;
    const client = wsClient(b.wsUrl, member!.token);
    const events = subscribe(client, CONVERSATION_EVENT);
    await probeEvents(a.url, attacker!, c, [events]);
    const started = Date.now();
    for (let i = 0; i < 10; i++) await gqlOk((i % 2 === 0 ? a : b).url, toggles(100), { c }, attacker!.token);
    const windows = Math.ceil((Date.now() - started) / 2000) + 1;
    await new Promise((r) => setTimeout(r, 500));
    const typing: boolean[] = [];
    for (;;) {
      const got = await events.take(1, 200).catch(() => null);
      if (!got) break;
      if (got[0].conversationEvent.__typename === 'TypingChanged') typing.push(got[0].conversationEvent.typing);
    }
    expect(typing.length).toBeGreaterThanOrEqual(2);
    expect(typing.length).toBeLessThanOrEqual(2 * windows);
    typing.forEach((t, i) => expect(t).toBe(i % 2 === 0));
    events.dispose();
    await client.dispose();
  }, 60_000);
});
