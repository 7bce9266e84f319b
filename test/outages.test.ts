import { backendsAvailable, useRedis } from './helpers/backends';
import { codes, gql, gqlOk, signUpMany, subscribe, wsClient, type SubscriptionQueue } from './helpers/client';
import { MESSAGE_ADDED_AFTER, OPEN_DIRECT, SEND } from './helpers/operations';
import { startServerProcess, type ServerProcess } from './helpers/process';

const run = backendsAvailable('the Redis outage suite');

/** Whether the process is still running `ms` from now. */
async function aliveAfter(server: ServerProcess, ms: number): Promise<boolean> {
  await new Promise((r) => setTimeout(r, ms));
  return server.child.exitCode === null && server.child.signalCode === null;
}

(run ? describe : describe.skip)('Redis outages (embedded store, Redis pub/sub)', () => {
  const redis = useRedis();

  it('subscribing while Redis is down is refused with UNAVAILABLE, the process lives, and all recovers when Redis returns', async () => {
    const server = await startServerProcess({ REDIS_URL: redis.current.url, JWT_SECRET: 'x'.repeat(32) });
    try {
      const [alice, bob] = await signUpMany(server.url, 2, 'outage');
      const c = (await gqlOk(server.url, OPEN_DIRECT, { u: bob!.id }, alice!.token)).openDirectConversation.id;
      const before = (await gqlOk(server.url, SEND, { c, t: 'before' }, alice!.token)).sendMessage;
      await redis.current.stop();

      // Reconnecting clients subscribe to channels this process does not hold yet.
      const during = [0, 1, 2].map(() => subscribe(wsClient(server.wsUrl, bob!.token), MESSAGE_ADDED_AFTER, { c }));
      const refused = await Promise.all(during.map(async (sub) => (await sub.errors()).map((e) => e.extensions?.code)));
      expect(await aliveAfter(server, 500)).toBe(true);
      expect(refused).toEqual(during.map(() => ['UNAVAILABLE']));
      // A send is stored (the memory store is up) even though its publish cannot reach Redis.
      const stored = await gql(server.url, SEND, { c, t: 'while down' }, alice!.token);
      expect(codes(stored)).toEqual([]);
      expect(await aliveAfter(server, 200)).toBe(true);

      await redis.current.start();
      // Back: a subscription resuming after the last message it had gets what was sent during the outage, then live messages.
      let resumed: SubscriptionQueue<any> | null = null;
      for (let attempt = 0; !resumed; attempt++) {
        const sub = subscribe(wsClient(server.wsUrl, bob!.token), MESSAGE_ADDED_AFTER, { c, after: before.id });
        try {
          expect((await sub.take(1, 2000))[0].messageAdded.content).toBe('while down');
          resumed = sub;
        } catch (error) {
          sub.dispose();
          if (attempt > 20) throw error;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      await gqlOk(server.url, SEND, { c, t: 'after' }, alice!.token);
      expect((await resumed!.take(1))[0].messageAdded.content).toBe('after');
      resumed!.dispose();
      during.forEach((s) => s.dispose());
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }, 60_000);
});
