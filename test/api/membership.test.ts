import { createRedisPubSub } from '../../src/pubsub/redis';
import { backendsAvailable } from '../helpers/backends';
import { gqlOk, signUpMany, subscribe, wsClient } from '../helpers/client';
import { CREATE_GROUP, LEAVE, SEND } from '../helpers/operations';
import { useTestRedis } from '../helpers/redis';
import { startTestServer, useTestServer, type TestServer } from '../helpers/server';

const LIVE = 'subscription($c: ID) { messageAdded(conversationId: $c) { id seq content } }';

/** Alice's group with Bob and Carol, and a first message. */
async function group(server: TestServer) {
  const [alice, bob, carol] = await signUpMany(server.url, 3, 'member');
  const c = (await gqlOk(server.url, CREATE_GROUP, { t: 'g', m: [bob!.id, carol!.id] }, alice!.token)).createGroup.id;
  await gqlOk(server.url, SEND, { c, t: 'first' }, alice!.token);
  return { alice: alice!, bob: bob!, carol: carol!, c };
}

describe('a member who leaves stops receiving the conversation', () => {
  const server = useTestServer();

  it("ends the leaver's subscription to that conversation with FORBIDDEN at once", async () => {
    const { alice, bob, c } = await group(server);
    const one = subscribe(wsClient(server.wsUrl, bob.token), LIVE, { c });
    const all = subscribe(wsClient(server.wsUrl, bob.token), LIVE);
    await server.pubsub.waitForSubscribers('messageAdded', bob.id, 2);
    await gqlOk(server.url, LEAVE, { c }, bob.token);
    expect((await one.errors()).map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    await gqlOk(server.url, SEND, { c, t: 'after leaving' }, alice.token);
    await all.expectSilence(300);
    one.dispose();
    all.dispose();
  });
});

const run = backendsAvailable('the membership catch-up suite');
(run ? describe : describe.skip)('a member who left while Redis was down', () => {
  const redis = useTestRedis();

  it('gets nothing sent after leaving from the catch-up that follows the reconnect, and FORBIDDEN', async () => {
    const [publisher, subscriber] = await Promise.all(
      ['publisher', 'subscriber'].map((role) => redis.current.connect(role)),
    );
    const server = await startTestServer({
      pubsub: createRedisPubSub({
        publisher: publisher!,
        subscriber: subscriber!,
        sharded: redis.current.mode === 'cluster',
      }),
    });
    try {
      const { alice, bob, carol, c } = await group(server);
      const leaver = subscribe(wsClient(server.wsUrl, bob.token), LIVE, { c });
      const stayer = subscribe(wsClient(server.wsUrl, carol.token), LIVE, { c });
      await server.pubsub.waitForSubscribers('messageAdded', bob.id);
      await server.pubsub.waitForSubscribers('messageAdded', carol.id);

      await redis.current.stop();
      // The leave and the message are stored; neither can be published.
      await gqlOk(server.url, LEAVE, { c }, bob.token);
      await gqlOk(server.url, SEND, { c, t: 'secret' }, alice.token);
      await redis.current.start();

      expect((await stayer.take(1, 15_000))[0].messageAdded.content).toBe('secret');
      expect((await leaver.errors(15_000)).map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
      // Nothing came before the error: take() finds no item, only the failure.
      await expect(leaver.take(1, 100)).rejects.toThrow(/subscription failed/);
      leaver.dispose();
      stayer.dispose();
    } finally {
      await server.stop();
      publisher!.disconnect();
      subscriber!.disconnect();
    }
  }, 60_000);
});
