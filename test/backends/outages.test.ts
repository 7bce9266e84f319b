import { backendsAvailable } from '../helpers/backends';
import { probe, useCluster } from '../helpers/cluster';
import {
  codes,
  gql,
  gqlOk,
  signUpMany,
  subscribe,
  wsClient,
  type SubscriptionQueue,
  type TestUser,
} from '../helpers/client';
import { CREATE_GROUP, MESSAGE_ADDED_AFTER, OPEN_DIRECT, SEND } from '../helpers/operations';
import { startServerProcess, type ServerProcess } from '../helpers/process';
import { useTestRedis } from '../helpers/redis';

const run = backendsAvailable('the Redis outage suite');

/** GET /readyz: its status code and reasons. */
async function readyz(server: ServerProcess): Promise<{ status: number; reasons: string[] }> {
  const res = await fetch(server.url.replace('/graphql', '/readyz'));
  const body = (await res.json()) as { reasons?: string[] };
  return { status: res.status, reasons: body.reasons ?? [] };
}

/** Polls /readyz until it answers `status` (within 20 s). */
async function untilReady(server: ServerProcess, status: number) {
  for (let i = 0; ; i++) {
    const now = await readyz(server);
    if (now.status === status) return now;
    if (i > 80) throw new Error(`readyz stayed ${now.status}: ${JSON.stringify(now.reasons)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Whether the process is still running `ms` from now. */
async function aliveAfter(server: ServerProcess, ms: number): Promise<boolean> {
  await new Promise((r) => setTimeout(r, ms));
  return server.child.exitCode === null && server.child.signalCode === null;
}

(run ? describe : describe.skip)('Redis outages (embedded store, Redis pub/sub)', () => {
  const redis = useTestRedis();

  it('subscribing while Redis is down is refused with UNAVAILABLE, the process lives, and all recovers when Redis returns', async () => {
    // One process on Redis with the embedded store, which it must ask for (see MEMORY_STORE_WITH_REDIS).
    const server = await startServerProcess({
      ...redis.current.env,
      MEMORY_STORE_WITH_REDIS: 'true',
      JWT_SECRET: 'x'.repeat(32),
    });
    try {
      const [alice, bob] = await signUpMany(server.url, 2, 'outage');
      const c = (await gqlOk(server.url, OPEN_DIRECT, { u: bob!.id }, alice!.token)).openDirectConversation.id;
      const before = (await gqlOk(server.url, SEND, { c, t: 'before' }, alice!.token)).sendMessage;
      expect(await readyz(server)).toEqual({ status: 200, reasons: [] });
      await redis.current.stop();
      // Not ready while Redis is away, saying why; alive all along.
      expect((await untilReady(server, 503)).reasons.join(' ')).toMatch(/Redis unreachable/);
      expect((await fetch(server.url.replace('/graphql', '/healthz'))).status).toBe(200);

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
      await untilReady(server, 200);
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

(run ? describe : describe.skip)('MongoDB outages (MongoDB and Redis, one process)', () => {
  const cluster = useCluster();
  const TIMEOUT_MS = 1500;
  const HISTORY = `query($c: ID!) { messages(conversationId: $c, last: 100) { edges { node { id seq content } } } }`;

  /** A process with short MongoDB time limits, a group of Alice and Bob, and Bob listening to all his conversations. */
  async function setUp() {
    const server = await cluster.current.start({ MONGODB_TIMEOUT_MS: String(TIMEOUT_MS) });
    const [alice, bob] = await signUpMany(server.url, 2, 'mongo_out');
    const c = (await gqlOk(server.url, CREATE_GROUP, { t: 'g', m: [bob!.id] }, alice!.token)).createGroup.id;
    const live = subscribe(wsClient(server.wsUrl, bob!.token), 'subscription { messageAdded { id seq content } }');
    await probe(server.url, alice!, c, [live]);
    return { server, alice: alice!, bob: bob!, c, live };
  }

  /** Sends, reads and subscribes while MongoDB is out: each is refused with UNAVAILABLE within a few seconds. */
  async function duringOutage(server: ServerProcess, alice: TestUser, bob: TestUser, c: string) {
    const timed = async <T>(work: Promise<T>) => {
      const started = Date.now();
      return { result: await work, ms: Date.now() - started };
    };
    const [send, read] = await Promise.all([
      timed(gql(server.url, SEND, { c, t: 'during' }, alice.token)),
      timed(gql(server.url, HISTORY, { c }, bob.token)),
    ]);
    const sub = subscribe(wsClient(server.wsUrl, bob.token), MESSAGE_ADDED_AFTER, { c });
    const subscribed = await timed(sub.errors(15_000));
    sub.dispose();
    expect(await aliveAfter(server, 100)).toBe(true);
    expect({
      send: codes(send.result),
      read: codes(read.result),
      subscribe: subscribed.result.map((e) => e.extensions?.code),
    }).toEqual({ send: ['UNAVAILABLE'], read: ['UNAVAILABLE'], subscribe: ['UNAVAILABLE'] });
    // Each request is answered within a few of MongoDB's time limits (finding it, connecting, its answer), not
    // held; a subscription waits for two (the connection's account check, then the subscription's own).
    expect({ send: send.ms < 4 * TIMEOUT_MS, read: read.ms < 4 * TIMEOUT_MS }).toEqual({ send: true, read: true });
    expect(subscribed.ms).toBeLessThan(8 * TIMEOUT_MS);
  }

  /** After the outage: sends work again, history holds everything acknowledged, the open subscription has all of it once. */
  async function recovered(setup: Awaited<ReturnType<typeof setUp>>) {
    const { server, alice, bob, c, live } = setup;
    let after: { id: string; seq: number } | null = null;
    for (let attempt = 0; !after; attempt++) {
      const res = await gql(server.url, SEND, { c, t: 'after' }, alice.token);
      if (res.data?.sendMessage) after = res.data.sendMessage;
      else if (attempt > 40) throw new Error(`no recovery: ${JSON.stringify(res.errors)}`);
      else await new Promise((r) => setTimeout(r, 250));
    }
    const history = (await gqlOk(server.url, HISTORY, { c }, bob.token)).messages.edges.map((e: any) => e.node);
    expect(history.at(-1)).toMatchObject({ id: after.id, content: 'after' });
    // A send refused while MongoDB was frozen may still have been applied when it thawed: then it is delivered too, once.
    const sinceProbe = history.filter((m: { content: string }) => !m.content.startsWith('probe'));
    const delivered = (await live.take(sinceProbe.length, 15_000)).map((r) => r.messageAdded);
    expect(delivered).toEqual(sinceProbe);
    await live.expectSilence(200);
    live.dispose();
    server.child.kill('SIGTERM');
    await server.exited;
  }

  it('MongoDB frozen (SIGSTOP): sends, reads and subscriptions answer UNAVAILABLE within seconds; all recovers after', async () => {
    const setup = await setUp();
    cluster.current.mongo.freeze();
    try {
      await duringOutage(setup.server, setup.alice, setup.bob, setup.c);
    } finally {
      cluster.current.mongo.thaw();
    }
    await recovered(setup);
  }, 90_000);

  it('MongoDB killed: the same, and nothing acknowledged is lost when it returns', async () => {
    const setup = await setUp();
    expect((await readyz(setup.server)).status).toBe(200);
    await cluster.current.mongo.stop();
    try {
      await duringOutage(setup.server, setup.alice, setup.bob, setup.c);
      expect((await untilReady(setup.server, 503)).reasons.join(' ')).toMatch(/MongoDB unreachable/);
    } finally {
      await cluster.current.mongo.start();
    }
    await untilReady(setup.server, 200);
    await recovered(setup);
  }, 90_000);
});
