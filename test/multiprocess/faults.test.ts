import { gql, gqlOk, readAllMessages, signUpMany, subscribe, wsClient } from '../helpers/client';
import { backendsAvailable } from '../helpers/backends';
import { probe, useCluster } from '../helpers/cluster';

const run = backendsAvailable('the fault suite');

const SEND = 'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { id seq content } }';
const LIVE = 'subscription($c: ID) { messageAdded(conversationId: $c) { id seq content } }';

(run ? describe : describe.skip)('faults with two processes on MongoDB and Redis', () => {
  const holder = useCluster();

  it('Redis restarted under live subscriptions: they resume by themselves and miss nothing sent meanwhile', async () => {
    const [a, b] = [await holder.current.start(), await holder.current.start()];
    const [alice, bob] = await signUpMany(a.url, 2, 'redis');
    const c = (
      await gqlOk(
        a.url,
        'mutation($m: [ID!]!) { createGroup(title: "r", memberIds: $m) { id } }',
        { m: [bob!.id] },
        alice!.token,
      )
    ).createGroup.id;
    const subs = [
      subscribe(wsClient(b.wsUrl, bob!.token), LIVE),
      subscribe(wsClient(b.wsUrl, bob!.token), LIVE, { c }),
      subscribe(wsClient(a.wsUrl, alice!.token), LIVE),
    ];
    const first = await probe(a.url, alice!, c, subs);

    await holder.current.redis.stop();
    const duringOutage = [];
    for (let i = 0; i < 5; i++) {
      const res = await gql(a.url, SEND, { c, t: `during ${i}` }, alice!.token);
      // Either stored (and so to be delivered) or refused with an error: never a silent loss.
      if (res.data?.sendMessage) duringOutage.push(res.data.sendMessage);
      else expect(res.errors?.length).toBeGreaterThan(0);
    }
    expect(duringOutage.length).toBe(5);
    await holder.current.redis.start();
    // Nobody sends anything more: the subscriptions catch up on their own once Redis is back.
    for (const sub of subs) {
      expect((await sub.take(5, 20_000)).map((r) => r.messageAdded.seq)).toEqual([1, 2, 3, 4, 5].map((i) => first + i));
    }
    const after = (await gqlOk(b.url, SEND, { c, t: 'after' }, bob!.token)).sendMessage;
    for (const sub of subs) expect((await sub.take(1, 10_000))[0].messageAdded.id).toBe(after.id);
    await subs[0]!.expectSilence(200);
    subs.forEach((s) => s.dispose());
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    await Promise.all([a.exited, b.exited]);
  }, 90_000);

  it('a process SIGKILLed mid-traffic: every acknowledged message is stored and reaches subscribers on the survivor', async () => {
    const [a, b] = [await holder.current.start(), await holder.current.start()];
    const users = await signUpMany(b.url, 4, 'kill');
    const [reader, ...senders] = users;
    const c = (
      await gqlOk(
        b.url,
        'mutation($m: [ID!]!) { createGroup(title: "k", memberIds: $m) { id } }',
        { m: senders.map((s) => s.id) },
        reader!.token,
      )
    ).createGroup.id;
    const onB = subscribe(wsClient(b.wsUrl, reader!.token), LIVE, { c });
    const first = await probe(b.url, senders[0]!, c, [onB]);

    const acknowledged: { id: string; seq: number }[] = [];
    let killed = false;
    const loops = senders.map(async (sender, s) => {
      for (let i = 0; ; i++) {
        const res = await gql(a.url, SEND, { c, t: `${s}:${i}` }, sender.token).catch(() => null);
        if (res?.data?.sendMessage) acknowledged.push(res.data.sendMessage);
        else if (killed) return;
      }
    });
    while (acknowledged.length < 40) await new Promise((r) => setTimeout(r, 20));
    a.child.kill('SIGKILL');
    killed = true;
    await a.exited;
    await Promise.all(loops);

    // One more through the survivor: a message A stored but never published is read from the store before it.
    const last = (await gqlOk(b.url, SEND, { c, t: 'survivor' }, senders[0]!.token)).sendMessage;
    const stored = await readAllMessages(b.url, reader!.token, c);
    const storedIds = new Set(stored.map((m) => m.id));
    expect(acknowledged.filter((m) => !storedIds.has(m.id))).toEqual([]);
    expect(stored.map((m) => m.seq)).toEqual(stored.map((_, i) => i + 1));
    const expected = stored.filter((m) => m.seq > first);
    const got = (await onB.take(expected.length, 30_000)).map((r) => r.messageAdded);
    expect(got).toEqual(expected);
    expect(got.at(-1)!.id).toBe(last.id);
    await onB.expectSilence(200);
    onB.dispose();
    b.child.kill('SIGTERM');
    await b.exited;
  }, 90_000);
});
