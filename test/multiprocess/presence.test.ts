import type { Client } from 'graphql-ws';
import { pairKey } from '../../src/presence/events';
import { gqlOk, signUpMany, subscribe, wsClient, type TestUser } from '../helpers/client';
import { backendsAvailable } from '../helpers/backends';
import { useCluster } from '../helpers/cluster';
import type { ServerProcess } from '../helpers/process';
import { ADD_FRIEND, MESSAGE_ADDED_IDS, PRESENCE_CHANGED, REMOVE_FRIEND } from '../helpers/operations';

const run = backendsAvailable('the cross-process presence suite');

const WATCH = PRESENCE_CHANGED;
const TIMEOUT_MS = 1500;

(run ? describe : describe.skip)('presence across two processes sharing Redis', () => {
  const cluster = useCluster();
  let a: ServerProcess;
  let b: ServerProcess;
  beforeAll(async () => {
    const env = { PRESENCE_TIMEOUT_MS: String(TIMEOUT_MS), PRESENCE_GRACE_MS: '200' };
    [a, b] = await Promise.all([cluster.current.start(env), cluster.current.start(env)]);
  }, 60_000);

  async function friends(): Promise<[TestUser, TestUser]> {
    const [alice, bob] = await signUpMany(a.url, 2, 'rp');
    await gqlOk(a.url, ADD_FRIEND, { u: bob!.id }, alice!.token);
    await gqlOk(b.url, ADD_FRIEND, { u: alice!.id }, bob!.token);
    return [alice!, bob!];
  }

  /** Waits until some process listens on the pair channel of `x` and `y`. */
  async function pairLive(x: TestUser, y: TestUser): Promise<void> {
    const channel = `presenceChanged:${pairKey(x.id, y.id)}`;
    for (const deadline = Date.now() + 10_000; (await cluster.current.redis.subscribers(channel)) < 1; ) {
      if (Date.now() > deadline) throw new Error(`nobody listens on ${channel}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** A device of `user` connected to `server`, held open by a subscription until disposed. */
  async function device(server: ServerProcess, user: TestUser): Promise<Client> {
    const client = wsClient(server.wsUrl, user.token);
    subscribe(client, MESSAGE_ADDED_IDS);
    // A query on the same connection answers once it is authenticated (and so counted).
    await subscribe(client, '{ me { id } }').take(1);
    return client;
  }

  const statuses = (items: any[]) => items.map((i) => i.presenceChanged.status);

  it('shows a friend on another process coming and going; devices on both processes are one user', async () => {
    const [alice, bob] = await friends();
    const watching = subscribe(wsClient(b.wsUrl, bob.token), WATCH);
    await pairLive(alice, bob);
    const onA = await device(a, alice);
    expect(statuses(await watching.take(1))).toEqual(['ONLINE']);
    const onB = await device(b, alice);
    await onA.dispose();
    await watching.expectSilence(700);
    await onB.dispose();
    expect(statuses(await watching.take(1, 5000))).toEqual(['OFFLINE']);
    watching.dispose();
  });

  it("shows a non-friend nothing, and stops an open subscription's events when a friend is removed, across processes", async () => {
    const [alice, bob] = await friends();
    const [mallory] = await signUpMany(b.url, 1, 'rp');
    const stranger = subscribe(wsClient(b.wsUrl, mallory!.token), WATCH);
    const watching = subscribe(wsClient(b.wsUrl, bob.token), WATCH);
    await pairLive(alice, bob);
    const onA = await device(a, alice);
    expect(statuses(await watching.take(1))).toEqual(['ONLINE']);
    const q = 'query($id: ID!) { user(id: $id) { presence { status } } presence(userIds: [$id]) { status } }';
    expect(await gqlOk(b.url, q, { id: alice.id }, mallory!.token)).toEqual({ user: { presence: null }, presence: [] });
    await gqlOk(a.url, REMOVE_FRIEND, { u: bob.id }, alice.token);
    expect(await gqlOk(b.url, q, { id: alice.id }, bob.token)).toEqual({ user: { presence: null }, presence: [] });
    // The subscription on B leaves the pair channel once the removal reaches it.
    const channel = `presenceChanged:${pairKey(alice.id, bob.id)}`;
    const listening = () => cluster.current.redis.subscribers(channel);
    for (const deadline = Date.now() + 10_000; (await listening()) > 0 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await listening()).toBe(0);
    await onA.dispose();
    await watching.expectSilence(800);
    await stranger.expectSilence(0);
    watching.dispose();
    stranger.dispose();
  });

  it('announces OFFLINE within the timeout when the process holding the only connection is SIGKILLed', async () => {
    const [alice, bob] = await friends();
    const doomed = await cluster.current.start({ PRESENCE_TIMEOUT_MS: String(TIMEOUT_MS), PRESENCE_GRACE_MS: '200' });
    const watching = subscribe(wsClient(b.wsUrl, bob.token), WATCH);
    await pairLive(alice, bob);
    const client = await device(doomed, alice);
    expect(statuses(await watching.take(1))).toEqual(['ONLINE']);
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const killedAt = Date.now();
    const [offline] = await watching.take(1, TIMEOUT_MS * 3);
    expect(offline.presenceChanged).toMatchObject({ userId: alice.id, status: 'OFFLINE' });
    expect(Date.now() - killedAt).toBeLessThan(TIMEOUT_MS + 500);
    const seen = await gqlOk(
      a.url,
      'query($ids: [ID!]!) { presence(userIds: $ids) { status } }',
      { ids: [alice.id] },
      bob.token,
    );
    expect(seen.presence).toEqual([{ status: 'OFFLINE' }]);
    await Promise.resolve(client.dispose()).catch(() => undefined);
    watching.dispose();
  });
});
