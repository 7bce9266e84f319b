import { buildSchema } from '../../src/server/server';
import { viewerIndependentFields } from '../../src/resolvers/shared';
import { createMemoryStore } from '../../src/store/memory';
import { gqlOk, signUpMany, subscribe, wsClient, type SubscriptionQueue, type TestUser } from '../helpers/client';
import { useTestServer } from '../helpers/server';
import { ADD_FRIEND, CREATE_GROUP, SEND } from '../helpers/operations';

// Every read of users by id, so that a test can see how often senders are looked up.
const store = createMemoryStore();
const userReads: string[][] = [];
const getUsers = store.users.getMany.bind(store.users);
store.users.getMany = (ids) => {
  userReads.push([...ids]);
  return getUsers(ids);
};
const server = useTestServer({ store });

/** alice sends; bob is her mutual friend; carol is only in the group. */
async function group(): Promise<{ alice: TestUser; bob: TestUser; carol: TestUser; id: string }> {
  const [alice, bob, carol] = await signUpMany(server.url, 3, 'sd');
  await gqlOk(server.url, ADD_FRIEND, { u: bob!.id }, alice!.token);
  await gqlOk(server.url, ADD_FRIEND, { u: alice!.id }, bob!.token);
  const { createGroup } = await gqlOk(server.url, CREATE_GROUP, { t: 'g', m: [bob!.id, carol!.id] }, alice!.token);
  return { alice: alice!, bob: bob!, carol: carol!, id: createGroup.id };
}

/** Opens each subscription on its user's connection and waits until all of them are live. */
async function open(
  wanted: { user: TestUser; query: string; variables?: Record<string, unknown> }[],
): Promise<SubscriptionQueue<any>[]> {
  const clients = new Map<string, ReturnType<typeof wsClient>>();
  const subs = wanted.map(({ user, query, variables }) => {
    if (!clients.has(user.id)) clients.set(user.id, wsClient(server.wsUrl, user.token));
    return subscribe(clients.get(user.id)!, query, variables);
  });
  for (const user of new Set(wanted.map((w) => w.user))) {
    await server.pubsub.waitForSubscribers('messageAdded', user.id, wanted.filter((w) => w.user === user).length);
  }
  return subs;
}

describe('shared delivery: one execution per event, each subscriber its own answer', () => {
  it('gives subscribers with different selections, variables and viewers exactly their own fields', async () => {
    const { alice, bob, carol, id } = await group();
    const withFragment = `subscription S($full: Boolean!) {
      messageAdded { content ...F @include(if: $full) }
    }
    fragment F on Message { seq __typename }`;
    const withPresence = 'subscription { messageAdded { sender { username presence { status } } } }';
    const subs = await open([
      { user: bob, query: 'subscription { messageAdded { content } }' },
      { user: bob, query: 'subscription { messageAdded { seq sender { username } } }' },
      { user: carol, query: 'subscription { messageAdded { seq sender { username } } }' },
      { user: bob, query: withFragment, variables: { full: true } },
      { user: carol, query: withFragment, variables: { full: false } },
      { user: carol, query: 'subscription { m: messageAdded(conversationId: null) { c: content, id: seq } }' },
      { user: bob, query: withPresence },
      { user: carol, query: withPresence },
    ]);
    for (const text of ['one', 'two']) await gqlOk(server.url, SEND, { c: id, t: text }, alice.token);
    const got = await Promise.all(subs.map((s) => s.take(2)));
    const per = (f: (text: string, seq: number) => unknown) => [f('one', 1), f('two', 2)];
    expect(got[0]).toEqual(per((content) => ({ messageAdded: { content } })));
    expect(got[1]).toEqual(per((_, seq) => ({ messageAdded: { seq, sender: { username: alice.username } } })));
    expect(got[2]).toEqual(got[1]);
    expect(got[3]).toEqual(per((content, seq) => ({ messageAdded: { content, seq, __typename: 'Message' } })));
    expect(got[4]).toEqual(per((content) => ({ messageAdded: { content } })));
    expect(got[5]).toEqual(per((c, seq) => ({ m: { c, id: seq } })));
    // Presence is per viewer: bob is alice's friend, carol is not.
    const sender = (presence: unknown) => ({ messageAdded: { sender: { username: alice.username, presence } } });
    expect(got[6]).toEqual([sender({ status: 'OFFLINE' }), sender({ status: 'OFFLINE' })]);
    expect(got[7]).toEqual([sender(null), sender(null)]);
    for (const s of subs) s.dispose();
  });

  it('looks a message sender up once for every subscriber on the process', async () => {
    const { alice, bob, carol, id } = await group();
    const query = 'subscription { messageAdded { content sender { id username displayName } } }';
    const subs = await open([bob, carol, bob, carol, bob, carol].map((user) => ({ user, query })));
    userReads.length = 0;
    await gqlOk(server.url, SEND, { c: id, t: 'hello' }, alice.token);
    for (const s of subs) expect((await s.take(1))[0].messageAdded.sender.username).toBe(alice.username);
    // One read authenticates the send; one serves all six deliveries.
    expect(userReads.filter((ids) => ids.includes(alice.id)).length).toBeLessThanOrEqual(2);
    for (const s of subs) s.dispose();
  });

  it('shares a selection of the MLS payload too (the same bytes for every member)', async () => {
    const { alice, bob, carol, id } = await group();
    const query = 'subscription { messageAdded { mls { kind epoch message welcome } sender { id } } }';
    const subs = await open([bob, carol, bob, carol, bob, carol].map((user) => ({ user, query })));
    userReads.length = 0;
    await gqlOk(server.url, SEND, { c: id, t: 'hello' }, alice.token);
    for (const s of subs) expect((await s.take(1))[0].messageAdded).toEqual({ mls: null, sender: { id: alice.id } });
    // Executed once for the six: the sender read once (a per-subscriber execution reads it six times).
    expect(userReads.filter((ids) => ids.includes(alice.id)).length).toBeLessThanOrEqual(2);
    for (const s of subs) s.dispose();
  });

  it('lists only fields the schema has', () => {
    const schema = buildSchema();
    for (const name of viewerIndependentFields) {
      const [type, field] = name.split('.');
      const found = schema.getType(type!);
      expect(found && 'getFields' in found ? Object.keys(found.getFields()) : []).toContain(field);
    }
  });
});
