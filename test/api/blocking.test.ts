import { gql, gqlOk, codes, signUpMany, subscribe, wsClient, type TestUser } from '../helpers/client';
import {
  ADD_FRIEND,
  BLOCK,
  BLOCKED,
  CREATE_GROUP,
  MESSAGE_ADDED_IDS,
  OPEN_DIRECT,
  PRESENCE,
  PRESENCE_CHANGED,
  SEND,
  UNBLOCK,
} from '../helpers/operations';
import { useTestServer } from '../helpers/server';

const FRIENDS = 'query { friends { id } }';
const ADD_MEMBERS = 'mutation($c: ID!, $u: [ID!]!) { addGroupMembers(conversationId: $c, userIds: $u) { id } }';

describe('blocking', () => {
  const server = useTestServer({ env: { PRESENCE_GRACE_MS: '50' } });

  async function friends(a: TestUser, b: TestUser) {
    await gqlOk(server.url, ADD_FRIEND, { u: b.id }, a.token);
    await gqlOk(server.url, ADD_FRIEND, { u: a.id }, b.token);
  }

  it('lists, blocks and unblocks idempotently, refusing oneself and unknown users', async () => {
    const [alice, bob, carol] = (await signUpMany(server.url, 3, 'blocker')) as TestUser[];
    await gqlOk(server.url, BLOCK, { u: bob!.id }, alice!.token);
    await gqlOk(server.url, BLOCK, { u: carol!.id }, alice!.token);
    expect((await gqlOk(server.url, BLOCK, { u: bob!.id }, alice!.token)).blockUser).toBe(true);
    expect((await gqlOk(server.url, BLOCKED, {}, alice!.token)).blockedUsers).toEqual([
      { id: carol!.id },
      { id: bob!.id },
    ]);
    expect((await gqlOk(server.url, BLOCKED, {}, bob!.token)).blockedUsers).toEqual([]);
    expect(codes(await gql(server.url, BLOCK, { u: alice!.id }, alice!.token))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await gql(server.url, BLOCK, { u: '999' }, alice!.token))).toEqual(['NOT_FOUND']);
    expect(codes(await gql(server.url, BLOCK, { u: bob!.id }))).toEqual(['UNAUTHENTICATED']);
    await gqlOk(server.url, UNBLOCK, { u: bob!.id }, alice!.token);
    expect((await gqlOk(server.url, UNBLOCK, { u: bob!.id }, alice!.token)).unblockUser).toBe(true);
    expect((await gqlOk(server.url, BLOCKED, {}, alice!.token)).blockedUsers).toEqual([{ id: carol!.id }]);
  });

  it('keeps a blocked user from opening a DM, sending in an old one, or adding the blocker to a group', async () => {
    const [alice, bob, carol] = (await signUpMany(server.url, 3, 'dm')) as TestUser[];
    const dm = (await gqlOk(server.url, OPEN_DIRECT, { u: alice!.id }, bob!.token)).openDirectConversation.id;
    const group = (await gqlOk(server.url, CREATE_GROUP, { t: 'g', m: [carol!.id] }, bob!.token)).createGroup.id;
    await gqlOk(server.url, BLOCK, { u: bob!.id }, alice!.token);

    const refusals = [
      await gql(server.url, OPEN_DIRECT, { u: alice!.id }, bob!.token),
      await gql(server.url, SEND, { c: dm, t: 'hello?' }, bob!.token),
      await gql(server.url, CREATE_GROUP, { t: 'h', m: [carol!.id, alice!.id] }, bob!.token),
      await gql(server.url, ADD_MEMBERS, { c: group, u: [alice!.id] }, bob!.token),
    ];
    for (const r of refusals) {
      expect(codes(r)).toEqual(['FORBIDDEN']);
      // Nothing that names the blocker as the reason.
      expect(r.errors![0]!.message).not.toMatch(/block/i);
    }
    // The blocker is told why, and cannot write into the DM either until they unblock.
    const own = await gql(server.url, SEND, { c: dm, t: 'hi' }, alice!.token);
    expect(codes(own)).toEqual(['FORBIDDEN']);
    expect(own.errors![0]!.message).toMatch(/blocked/);
    // Nothing was changed.
    const members = await gqlOk(
      server.url,
      'query($c: ID!) { conversation(id: $c) { members { id } } }',
      { c: group },
      bob!.token,
    );
    expect(members.conversation.members.map((m: { id: string }) => m.id).sort()).toEqual([bob!.id, carol!.id].sort());
    const history = await gqlOk(
      server.url,
      'query($c: ID!) { messages(conversationId: $c) { edges { cursor } } }',
      { c: dm },
      bob!.token,
    );
    expect(history.messages.edges).toEqual([]);
    // Others are unaffected, and the block lifts.
    await gqlOk(server.url, ADD_MEMBERS, { c: group, u: [alice!.id] }, carol!.token);
    await gqlOk(server.url, UNBLOCK, { u: bob!.id }, alice!.token);
    await gqlOk(server.url, SEND, { c: dm, t: 'hello again' }, bob!.token);
  });

  it('shows no typing across a block in a DM, and says nothing about it', async () => {
    const [alice, bob] = (await signUpMany(server.url, 2, 'typist')) as TestUser[];
    const dm = (await gqlOk(server.url, OPEN_DIRECT, { u: alice!.id }, bob!.token)).openDirectConversation.id;
    const events = subscribe(wsClient(server.wsUrl, alice!.token), 'subscription { conversationEvent { __typename } }');
    await server.pubsub.waitForSubscribers('conversationEvent', alice!.id);
    await gqlOk(server.url, BLOCK, { u: bob!.id }, alice!.token);
    const typing = 'mutation($c: ID!) { setTyping(conversationId: $c) }';
    expect((await gqlOk(server.url, typing, { c: dm }, bob!.token)).setTyping).toBe(true);
    await events.expectSilence(300);
    events.dispose();
  });

  it('ends the friendship and hides presence both ways, live too; the blocked cannot make it again', async () => {
    const [alice, bob] = (await signUpMany(server.url, 2, 'friend')) as TestUser[];
    await friends(alice!, bob!);
    const aliceOnline = wsClient(server.wsUrl, alice!.token);
    const watching = subscribe(aliceOnline, MESSAGE_ADDED_IDS);
    await server.pubsub.waitForSubscribers('messageAdded', alice!.id);
    expect((await gqlOk(server.url, PRESENCE, { ids: [alice!.id] }, bob!.token)).presence).toHaveLength(1);
    const bobWatches = subscribe(wsClient(server.wsUrl, bob!.token), PRESENCE_CHANGED);
    await server.pubsub.waitForSubscribers('friendsChanged', bob!.id);

    await gqlOk(server.url, BLOCK, { u: bob!.id }, alice!.token);
    expect((await gqlOk(server.url, FRIENDS, {}, alice!.token)).friends).toEqual([]);
    expect((await gqlOk(server.url, FRIENDS, {}, bob!.token)).friends).toEqual([]);
    expect((await gqlOk(server.url, PRESENCE, { ids: [alice!.id] }, bob!.token)).presence).toEqual([]);
    const user = await gqlOk(
      server.url,
      'query($u: ID!) { user(id: $u) { presence { status } } }',
      { u: alice!.id },
      bob!.token,
    );
    expect(user.user.presence).toBeNull();

    // Bob adding Alice again looks like it worked, but no friendship forms even if Alice adds him.
    expect((await gqlOk(server.url, ADD_FRIEND, { u: alice!.id }, bob!.token)).addFriend).toEqual({ id: alice!.id });
    expect(codes(await gql(server.url, ADD_FRIEND, { u: bob!.id }, alice!.token))).toEqual(['FORBIDDEN']);
    expect((await gqlOk(server.url, FRIENDS, {}, bob!.token)).friends).toEqual([]);

    // Alice going offline is not shown to Bob's live presence stream.
    await aliceOnline.dispose();
    await bobWatches.expectSilence(400);
    watching.dispose();
    bobWatches.dispose();
  });
});
