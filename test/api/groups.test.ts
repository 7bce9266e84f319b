import { backendsAvailable } from '../helpers/backends';
import { codes, gql, gqlOk, signUpMany, subscribe, wsClient, type TestUser } from '../helpers/client';
import { useCluster } from '../helpers/cluster';
import { ADD_MEMBERS, CREATE_GROUP, LEAVE } from '../helpers/operations';
import { useTestServer } from '../helpers/server';

const STATE = `query($c: ID!) { conversation(id: $c) {
  title addPolicy memberships { user { id } role }
} }`;
const UPDATE =
  'mutation($c: ID!, $t: String, $p: AddPolicy) { updateGroup(conversationId: $c, title: $t, addPolicy: $p) { id } }';
const REMOVE = 'mutation($c: ID!, $u: ID!) { removeGroupMember(conversationId: $c, userId: $u) { id } }';
const SET_ROLE =
  'mutation($c: ID!, $u: ID!, $r: MemberRole!) { setMemberRole(conversationId: $c, userId: $u, role: $r) { id } }';
const EVENTS = `subscription($c: ID) { conversationEvent(conversationId: $c) {
  __typename
  ... on ConversationUpdated { conversationId conversation { title addPolicy viewerRole } }
  ... on MembersChanged { left { id } }
} }`;

type Role = 'OWNER' | 'ADMIN' | 'MEMBER';

/** A group of an owner, two admins and two members, made through the API. */
async function rolesGroup(url: string) {
  const [owner, admin, admin2, member, member2] = await signUpMany(url, 5, 'role');
  const c = (
    await gqlOk(url, CREATE_GROUP, { t: 'Team', m: [admin, admin2, member, member2].map((u) => u!.id) }, owner!.token)
  ).createGroup.id as string;
  for (const a of [admin, admin2]) await gqlOk(url, SET_ROLE, { c, u: a!.id, r: 'ADMIN' }, owner!.token);
  const by: Record<Role, TestUser> = { OWNER: owner!, ADMIN: admin!, MEMBER: member! };
  return { c, owner: owner!, admin: admin!, admin2: admin2!, member: member!, member2: member2!, by };
}

describe('group roles', () => {
  const server = useTestServer();
  const state = async (c: string, token: string) => (await gqlOk(server.url, STATE, { c }, token)).conversation;

  it('starts with the creator as OWNER, the others MEMBER, anyone adding; a direct conversation has no roles', async () => {
    const [a, b] = await signUpMany(server.url, 2, 'start');
    const c = (await gqlOk(server.url, CREATE_GROUP, { t: 'g', m: [b!.id] }, a!.token)).createGroup.id;
    expect(await state(c, b!.token)).toEqual({
      title: 'g',
      addPolicy: 'ALL_MEMBERS',
      memberships: [
        { user: { id: a!.id }, role: 'OWNER' },
        { user: { id: b!.id }, role: 'MEMBER' },
      ],
    });
    const d = (
      await gqlOk(server.url, 'mutation($u: ID!) { openDirectConversation(userId: $u) { id } }', { u: b!.id }, a!.token)
    ).openDirectConversation.id;
    const direct = await gqlOk(
      server.url,
      'query($c: ID!) { conversation(id: $c) { viewerRole addPolicy memberships { role } } }',
      { c: d },
      a!.token,
    );
    expect(direct.conversation).toEqual({
      viewerRole: null,
      addPolicy: null,
      memberships: [{ role: null }, { role: null }],
    });
  });

  // Every role × action: allowed ones change what they say, refused ones answer FORBIDDEN and change nothing.
  const actions: {
    name: string;
    run: (g: Awaited<ReturnType<typeof rolesGroup>>, actor: TestUser) => Promise<any>;
    allowed: Role[];
  }[] = [
    {
      name: 'rename',
      run: (g, a) => gql(server.url, UPDATE, { c: g.c, t: 'Renamed' }, a.token),
      allowed: ['OWNER', 'ADMIN'],
    },
    {
      name: 'set addPolicy',
      run: (g, a) => gql(server.url, UPDATE, { c: g.c, p: 'ADMINS' }, a.token),
      allowed: ['OWNER', 'ADMIN'],
    },
    {
      name: 'remove a member',
      run: (g, a) => gql(server.url, REMOVE, { c: g.c, u: g.member2.id }, a.token),
      allowed: ['OWNER', 'ADMIN'],
    },
    {
      name: 'remove an admin',
      run: (g, a) => gql(server.url, REMOVE, { c: g.c, u: g.admin2.id }, a.token),
      allowed: ['OWNER'],
    },
    {
      name: 'remove the owner',
      run: (g, a) => gql(server.url, REMOVE, { c: g.c, u: g.owner.id }, a.token),
      allowed: [],
    },
    {
      name: 'promote a member',
      run: (g, a) => gql(server.url, SET_ROLE, { c: g.c, u: g.member2.id, r: 'ADMIN' }, a.token),
      allowed: ['OWNER', 'ADMIN'],
    },
    {
      name: 'demote an admin',
      run: (g, a) => gql(server.url, SET_ROLE, { c: g.c, u: g.admin2.id, r: 'MEMBER' }, a.token),
      allowed: ['OWNER'],
    },
    {
      name: 'make a member OWNER',
      run: (g, a) => gql(server.url, SET_ROLE, { c: g.c, u: g.member2.id, r: 'OWNER' }, a.token),
      allowed: ['OWNER'],
    },
  ];
  for (const action of actions) {
    for (const role of ['OWNER', 'ADMIN', 'MEMBER'] as Role[]) {
      const allowed = action.allowed.includes(role);
      it(`${role} ${action.name}: ${allowed ? 'allowed' : 'FORBIDDEN, nothing changed'}`, async () => {
        const g = await rolesGroup(server.url);
        const before = await state(g.c, g.owner.token);
        const res = await action.run(g, g.by[role]);
        if (allowed) {
          expect(res.errors).toBeUndefined();
          expect(await state(g.c, g.owner.token)).not.toEqual(before);
        } else {
          expect(codes(res)).toEqual(['FORBIDDEN']);
          expect(await state(g.c, g.owner.token)).toEqual(before);
        }
      });
    }
  }

  it('making someone else OWNER makes the old owner ADMIN; a non-member is BAD_USER_INPUT', async () => {
    const g = await rolesGroup(server.url);
    await gqlOk(server.url, SET_ROLE, { c: g.c, u: g.member.id, r: 'OWNER' }, g.owner.token);
    const roles = Object.fromEntries(
      (await state(g.c, g.owner.token)).memberships.map((m: any) => [m.user.id, m.role]),
    );
    expect(roles).toMatchObject({ [g.member.id]: 'OWNER', [g.owner.id]: 'ADMIN', [g.admin.id]: 'ADMIN' });
    const [stranger] = await signUpMany(server.url, 1, 'stranger');
    expect(codes(await gql(server.url, REMOVE, { c: g.c, u: stranger!.id }, g.member.token))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(codes(await gql(server.url, UPDATE, { c: g.c, t: 'x' }, stranger!.token))).toEqual(['FORBIDDEN']);
  });

  it('an owner who leaves hands the group to the longest-standing admin, else the longest-standing member', async () => {
    const g = await rolesGroup(server.url);
    await gqlOk(server.url, LEAVE, { c: g.c }, g.owner.token);
    const owners = async () =>
      (await state(g.c, g.member.token)).memberships.filter((m: any) => m.role === 'OWNER').map((m: any) => m.user.id);
    expect(await owners()).toEqual([g.admin.id]);
    await gqlOk(server.url, REMOVE, { c: g.c, u: g.admin2.id }, g.admin.token);
    await gqlOk(server.url, LEAVE, { c: g.c }, g.admin.token);
    expect(await owners()).toEqual([g.member.id]);
  });

  it('with addPolicy ADMINS only the owner and admins add members', async () => {
    const g = await rolesGroup(server.url);
    const [x, y] = await signUpMany(server.url, 2, 'added');
    await gqlOk(server.url, UPDATE, { c: g.c, p: 'ADMINS' }, g.admin.token);
    expect(codes(await gql(server.url, ADD_MEMBERS, { c: g.c, u: [x!.id] }, g.member.token))).toEqual(['FORBIDDEN']);
    await gqlOk(server.url, ADD_MEMBERS, { c: g.c, u: [y!.id] }, g.admin.token);
    const ids = (await state(g.c, g.owner.token)).memberships.map((m: any) => m.user.id);
    expect(ids).toContain(y!.id);
    expect(ids).not.toContain(x!.id);
  });

  it('members hear ConversationUpdated; a removed member’s subscription ends with FORBIDDEN as after leaving', async () => {
    const g = await rolesGroup(server.url);
    const [mine, theirs] = [wsClient(server.wsUrl, g.member.token), wsClient(server.wsUrl, g.member2.token)];
    const watching = subscribe(mine, EVENTS, { c: g.c });
    const removed = subscribe(theirs, EVENTS, { c: g.c });
    await server.pubsub.waitForSubscribers('conversationEvent', g.member2.id);
    await server.pubsub.waitForSubscribers('conversationEvent', g.member.id);
    await gqlOk(server.url, UPDATE, { c: g.c, t: 'News', p: 'ADMINS' }, g.admin.token);
    const [updated] = await watching.take(1);
    expect(updated.conversationEvent).toEqual({
      __typename: 'ConversationUpdated',
      conversationId: g.c,
      conversation: { title: 'News', addPolicy: 'ADMINS', viewerRole: 'MEMBER' },
    });
    await removed.take(1);
    await gqlOk(server.url, REMOVE, { c: g.c, u: g.member2.id }, g.admin.token);
    expect((await removed.errors()).map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const [left] = await watching.take(1);
    expect(left.conversationEvent).toEqual({ __typename: 'MembersChanged', left: [{ id: g.member2.id }] });
    watching.dispose();
    await Promise.all([mine.dispose(), theirs.dispose()]);
  });
});

const run = backendsAvailable('the cross-process group roles suite');
(run ? describe : describe.skip)('group roles across processes (MongoDB and Redis)', () => {
  const cluster = useCluster();

  it('on two processes at once: admins removing each other are both refused; a transfer to someone and their removal end as one order of the two; a rename reaches the other process', async () => {
    const [a, b] = [await cluster.current.start(), await cluster.current.start()];
    try {
      for (let round = 0; round < 3; round++) {
        const g = await rolesGroup(a.url);
        // Admins may not remove admins; made owner-equal, each may remove the other, but only one can win.
        const [x, y] = await Promise.all([
          gql(a.url, REMOVE, { c: g.c, u: g.admin2.id }, g.admin.token),
          gql(b.url, REMOVE, { c: g.c, u: g.admin.id }, g.admin2.token),
        ]);
        // Admins removing admins is refused both ways, whatever the order.
        expect([codes(x), codes(y)]).toEqual([['FORBIDDEN'], ['FORBIDDEN']]);
        // The owner hands ownership to one admin while the other removes them: one order or the other.
        const [transfer, removal] = await Promise.all([
          gql(a.url, SET_ROLE, { c: g.c, u: g.admin.id, r: 'OWNER' }, g.owner.token),
          gql(b.url, REMOVE, { c: g.c, u: g.admin.id }, g.owner.token),
        ]);
        const members = (await gqlOk(b.url, STATE, { c: g.c }, g.member.token)).conversation.memberships;
        const adminStill = members.find((m: any) => m.user.id === g.admin.id);
        if (transfer.errors) {
          // Removed first: the transfer found them gone.
          expect(removal.errors).toBeUndefined();
          expect(adminStill).toBeUndefined();
        } else {
          // Made owner first: the removal of the owner was refused.
          expect(codes(removal)).toEqual(['FORBIDDEN']);
          expect(adminStill.role).toBe('OWNER');
        }
        expect(members.filter((m: any) => m.role === 'OWNER')).toHaveLength(1);
      }
      // A rename on one process reaches a member's subscription on the other.
      const g = await rolesGroup(a.url);
      const client = wsClient(b.wsUrl, g.member.token);
      const events = subscribe(client, EVENTS, { c: g.c });
      for (let round = 0; ; round++) {
        // Until the subscription on b is live: each round renames again, and the last name is what arrives.
        await gqlOk(a.url, UPDATE, { c: g.c, t: `Round ${round}` }, g.owner.token);
        const got = await events.take(1, 1000).catch(() => null);
        if (got) {
          expect(got[0].conversationEvent).toMatchObject({ __typename: 'ConversationUpdated', conversationId: g.c });
          break;
        }
        if (round === 20) throw new Error('no ConversationUpdated reached the other process');
      }
      events.dispose();
      await client.dispose();
    } finally {
      for (const p of [a, b]) p.child.kill('SIGTERM');
      await Promise.all([a.exited, b.exited]);
    }
  }, 90_000);
});
