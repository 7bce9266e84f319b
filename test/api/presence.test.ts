import type { Client } from 'graphql-ws';
import { pairKey } from '../../src/presence/events';
import { gqlOk, signUpMany, subscribe, wsClient, type SubscriptionQueue, type TestUser } from '../helpers/client';
import WebSocket from 'ws';
import { startTestServer, useTestServer } from '../helpers/server';
import { ADD_FRIEND, MESSAGE_ADDED_IDS, PRESENCE, PRESENCE_CHANGED, REMOVE_FRIEND } from '../helpers/operations';

const server = useTestServer({ env: { PRESENCE_GRACE_MS: '300' } });

const WATCH = PRESENCE_CHANGED;
const ADD = ADD_FRIEND;
const REMOVE = REMOVE_FRIEND;

async function befriend(a: TestUser, b: TestUser) {
  await gqlOk(server.url, ADD, { u: b.id }, a.token);
  await gqlOk(server.url, ADD, { u: a.id }, b.token);
}

/** A device of `user` online: an authenticated WebSocket with a subscription open. */
async function device(user: TestUser): Promise<Client> {
  const client = wsClient(server.wsUrl, user.token);
  subscribe(client, MESSAGE_ADDED_IDS);
  await server.pubsub.waitForSubscribers('messageAdded', user.id, 1);
  return client;
}

/** `watcher` following `friend`'s presence, live once this resolves. */
async function watch(watcher: TestUser, friend: TestUser): Promise<SubscriptionQueue<any>> {
  const sub = subscribe(wsClient(server.wsUrl, watcher.token), WATCH);
  await server.pubsub.waitForSubscribers('presenceChanged', pairKey(watcher.id, friend.id), 1);
  return sub;
}

const statuses = (items: any[]) => items.map((i) => `${i.presenceChanged.userId}:${i.presenceChanged.status}`);

describe('presence', () => {
  it('shows a friend coming and going, with lastActiveAt', async () => {
    const [alice, bob] = await signUpMany(server.url, 2, 'pr');
    await befriend(alice!, bob!);
    const watching = await watch(bob!, alice!);
    const phone = await device(alice!);
    const [online] = await watching.take(1);
    expect(online.presenceChanged).toMatchObject({ userId: alice!.id, status: 'ONLINE' });
    const q = PRESENCE;
    expect((await gqlOk(server.url, q, { ids: [alice!.id] }, bob!.token)).presence).toMatchObject([
      { userId: alice!.id, status: 'ONLINE' },
    ]);
    await phone.dispose();
    const [offline] = await watching.take(1, 5000);
    expect(offline.presenceChanged).toMatchObject({ userId: alice!.id, status: 'OFFLINE' });
    expect(Date.parse(offline.presenceChanged.lastActiveAt)).toBeGreaterThan(Date.now() - 10_000);
    const seen = await gqlOk(
      server.url,
      'query($id: ID!) { user(id: $id) { presence { status lastActiveAt } } }',
      { id: alice!.id },
      bob!.token,
    );
    expect(seen.user.presence).toEqual({ status: 'OFFLINE', lastActiveAt: offline.presenceChanged.lastActiveAt });
    watching.dispose();
  });

  it('shows nothing to a non-friend: no events, presence null, left out of presence()', async () => {
    const [alice, mallory] = await signUpMany(server.url, 2, 'pr');
    const sub = subscribe(wsClient(server.wsUrl, mallory!.token), WATCH);
    await server.pubsub.waitForSubscribers('friendsChanged', mallory!.id, 1);
    const phone = await device(alice!);
    await sub.expectSilence(400);
    const q =
      'query($ids: [ID!]!, $id: ID!) { presence(userIds: $ids) { userId } user(id: $id) { presence { status } } }';
    const res = await gqlOk(server.url, q, { ids: [alice!.id, mallory!.id], id: alice!.id }, mallory!.token);
    expect(res.presence).toEqual([{ userId: mallory!.id }]);
    expect(res.user.presence).toBeNull();
    // A one-sided add is not friendship either.
    await gqlOk(server.url, ADD, { u: alice!.id }, mallory!.token);
    expect((await gqlOk(server.url, q, { ids: [alice!.id], id: alice!.id }, mallory!.token)).presence).toEqual([]);
    await phone.dispose();
    await sub.expectSilence(600);
    sub.dispose();
  });

  it('starts events on an open subscription when two become friends, and stops them when one removes the other', async () => {
    const [alice, bob] = await signUpMany(server.url, 2, 'pr');
    const sub = subscribe(wsClient(server.wsUrl, bob!.token), WATCH);
    await server.pubsub.waitForSubscribers('friendsChanged', bob!.id, 1);
    const phone = await device(alice!);
    await befriend(alice!, bob!);
    // The new friend's current status arrives at once.
    expect(statuses(await sub.take(1))).toEqual([`${alice!.id}:ONLINE`]);
    await gqlOk(server.url, REMOVE, { u: bob!.id }, alice!.token);
    for (
      const deadline = Date.now() + 5000;
      server.pubsub.subscriberCount('presenceChanged', pairKey(alice!.id, bob!.id)) > 0 && Date.now() < deadline;

    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await phone.dispose();
    await sub.expectSilence(800);
    sub.dispose();
  });
});

describe('heartbeats', () => {
  it('drops a connection that stops answering pings, and its user goes OFFLINE for friends', async () => {
    const quick = await startTestServer({ keepAliveMs: 100, env: { PRESENCE_GRACE_MS: '50' } });
    try {
      const [alice, bob] = await signUpMany(quick.url, 2, 'hb');
      await gqlOk(quick.url, ADD, { u: bob!.id }, alice!.token);
      await gqlOk(quick.url, ADD, { u: alice!.id }, bob!.token);
      const watching = subscribe(wsClient(quick.wsUrl, bob!.token), WATCH);
      await quick.pubsub.waitForSubscribers('presenceChanged', pairKey(alice!.id, bob!.id), 1);
      // A device that went silent: connected and authenticated, but answering no pings.
      const silent = new WebSocket(quick.wsUrl, 'graphql-transport-ws', { autoPong: false });
      const closed = new Promise<void>((resolve) => silent.once('close', () => resolve()));
      silent.once('open', () =>
        silent.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${alice!.token}` } })),
      );
      expect(statuses(await watching.take(1))).toEqual([`${alice!.id}:ONLINE`]);
      await closed;
      expect(statuses(await watching.take(1, 5000))).toEqual([`${alice!.id}:OFFLINE`]);
      watching.dispose();
    } finally {
      await quick.stop();
    }
  });
});

describe('presence without flapping', () => {
  // A grace period comfortably longer than a reconnect takes on a busy machine.
  const slow = useTestServer({ env: { PRESENCE_GRACE_MS: '2000' } });

  it('changes nothing for others when a second device comes or one of two goes, or a device reconnects within the grace period', async () => {
    const [alice, bob] = await signUpMany(slow.url, 2, 'pr');
    await gqlOk(slow.url, ADD, { u: bob!.id }, alice!.token);
    await gqlOk(slow.url, ADD, { u: alice!.id }, bob!.token);
    const watching = subscribe(wsClient(slow.wsUrl, bob!.token), WATCH);
    await slow.pubsub.waitForSubscribers('presenceChanged', pairKey(bob!.id, alice!.id), 1);
    const device = async () => {
      const client = wsClient(slow.wsUrl, alice!.token);
      subscribe(client, MESSAGE_ADDED_IDS);
      await subscribe(client, '{ me { id } }').take(1);
      return client;
    };
    const phone = await device();
    expect(statuses(await watching.take(1))).toEqual([`${alice!.id}:ONLINE`]);
    const laptop = await device();
    await phone.dispose();
    await watching.expectSilence(600);
    await laptop.dispose();
    const again = await device(); // back within the grace period
    await watching.expectSilence(600);
    await again.dispose();
    expect(statuses(await watching.take(1, 10_000))).toEqual([`${alice!.id}:OFFLINE`]);
    watching.dispose();
  });
});
