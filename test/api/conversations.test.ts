import { codes, gql, gqlOk, signUpMany, type TestUser } from '../helpers/client';
import { startTestServer, useTestServer } from '../helpers/server';
import { LEAVE, SEND } from '../helpers/operations';

const server = useTestServer();

const OPEN_DIRECT =
  'mutation($u: ID!) { openDirectConversation(userId: $u) { id kind title members { id } createdAt } }';
const CREATE_GROUP =
  'mutation($t: String!, $m: [ID!]!) { createGroup(title: $t, memberIds: $m) { id kind title members { id } } }';
const ADD_MEMBERS =
  'mutation($c: ID!, $u: [ID!]!) { addGroupMembers(conversationId: $c, userIds: $u) { id members { id } } }';
const CONVERSATION = `query($id: ID!) {
  conversation(id: $id) { id kind title members { id } lastMessage { id content } unreadCount lastReadMessageId }
}`;
const LIST = `query($first: Int, $after: String) {
  conversations(first: $first, after: $after) {
    edges { cursor node { id title lastMessage { content } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;
const MARK_READ =
  'mutation($c: ID!, $m: ID!) { markRead(conversationId: $c, messageId: $m) { id unreadCount lastReadMessageId } }';

const ids = (users: { id: string }[]) => users.map((u) => u.id).sort();

async function createGroup(owner: TestUser, members: TestUser[], title = 'group') {
  return (await gqlOk(server.url, CREATE_GROUP, { t: title, m: members.map((m) => m.id) }, owner.token)).createGroup;
}

describe('direct conversations', () => {
  it('is one conversation per pair, the same from either side', async () => {
    const [a, b] = await signUpMany(server.url, 2);
    const fromA = (await gqlOk(server.url, OPEN_DIRECT, { u: b!.id }, a!.token)).openDirectConversation;
    const again = (await gqlOk(server.url, OPEN_DIRECT, { u: b!.id }, a!.token)).openDirectConversation;
    const fromB = (await gqlOk(server.url, OPEN_DIRECT, { u: a!.id }, b!.token)).openDirectConversation;
    expect(fromA).toMatchObject({ kind: 'DIRECT', title: null });
    expect(ids(fromA.members)).toEqual(ids([a!, b!]));
    expect(again).toEqual(fromA);
    expect(fromB).toEqual(fromA);
  });

  it('is still one conversation when both open it at the same moment', async () => {
    const [a, b] = await signUpMany(server.url, 2);
    const opened = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2
          ? gqlOk(server.url, OPEN_DIRECT, { u: b!.id }, a!.token)
          : gqlOk(server.url, OPEN_DIRECT, { u: a!.id }, b!.token),
      ),
    );
    expect(new Set(opened.map((o) => o.openDirectConversation.id)).size).toBe(1);
    const list = (await gqlOk(server.url, LIST, {}, a!.token)).conversations.edges;
    expect(list.length).toBe(1);
  });

  it('refuses yourself (BAD_USER_INPUT) and unknown users (NOT_FOUND), and cannot be left', async () => {
    const [a, b] = await signUpMany(server.url, 2);
    expect(codes(await gql(server.url, OPEN_DIRECT, { u: a!.id }, a!.token))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await gql(server.url, OPEN_DIRECT, { u: '31337' }, a!.token))).toEqual(['NOT_FOUND']);
    const direct = (await gqlOk(server.url, OPEN_DIRECT, { u: b!.id }, a!.token)).openDirectConversation;
    expect(codes(await gql(server.url, LEAVE, { c: direct.id }, a!.token))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await gql(server.url, ADD_MEMBERS, { c: direct.id, u: [b!.id] }, a!.token))).toEqual([
      'BAD_USER_INPUT',
    ]);
  });
});

describe('groups', () => {
  let users: TestUser[];
  // 102 password hashes (scrypt): seconds alone, more on a machine busy with other test files.
  beforeAll(async () => {
    users = await signUpMany(server.url, 102, 'g');
  }, 120_000);

  it('creates a group of the creator and the members, each once', async () => {
    const [a, b, c] = users;
    const group = await createGroup(a!, [b!, c!, b!, a!], '  Weekend   plans ');
    expect(group).toMatchObject({ kind: 'GROUP', title: 'Weekend plans' });
    expect(ids(group.members)).toEqual(ids([a!, b!, c!]));
  });

  it('allows exactly 100 members; 101 is BAD_USER_INPUT and creates nothing', async () => {
    const [owner, ...rest] = users;
    const before = (await gqlOk(server.url, LIST, { first: 100 }, owner!.token)).conversations.edges.length;
    const res = await gql(
      server.url,
      CREATE_GROUP,
      { t: 'too big', m: rest.slice(0, 100).map((u) => u.id) },
      owner!.token,
    );
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect((await gqlOk(server.url, LIST, { first: 100 }, owner!.token)).conversations.edges.length).toBe(before);
    const full = await createGroup(owner!, rest.slice(0, 99), 'full');
    expect(full.members.length).toBe(100);
    const more = await gql(server.url, ADD_MEMBERS, { c: full.id, u: [rest[99]!.id] }, owner!.token);
    expect(codes(more)).toEqual(['BAD_USER_INPUT']);
    const after = (await gqlOk(server.url, CONVERSATION, { id: full.id }, owner!.token)).conversation;
    expect(after.members.length).toBe(100);
  });

  it('adds members up to 100 in all, also when two add at once', async () => {
    const [owner, ...rest] = users;
    const group = await createGroup(owner!, rest.slice(0, 89));
    // Two concurrent adds of 10 each: only one fits.
    const results = await Promise.all([
      gql(server.url, ADD_MEMBERS, { c: group.id, u: rest.slice(89, 99).map((u) => u.id) }, owner!.token),
      gql(server.url, ADD_MEMBERS, { c: group.id, u: rest.slice(91, 101).map((u) => u.id) }, owner!.token),
    ]);
    expect(results.filter((r) => r.data?.addGroupMembers).length).toBe(1);
    expect(results.flatMap(codes)).toEqual(['BAD_USER_INPUT']);
    const after = (await gqlOk(server.url, CONVERSATION, { id: group.id }, owner!.token)).conversation;
    expect(after.members.length).toBe(100);
  });

  it('refuses unknown members with NOT_FOUND and adds nobody', async () => {
    const [a, b] = users;
    expect(codes(await gql(server.url, CREATE_GROUP, { t: 'x', m: [b!.id, '777'] }, a!.token))).toEqual(['NOT_FOUND']);
    const group = await createGroup(a!, []);
    expect(codes(await gql(server.url, ADD_MEMBERS, { c: group.id, u: [b!.id, '777'] }, a!.token))).toEqual([
      'NOT_FOUND',
    ]);
    expect((await gqlOk(server.url, CONVERSATION, { id: group.id }, a!.token)).conversation.members).toEqual([
      { id: a!.id },
    ]);
  });

  it('refuses an empty title and lets only members add members', async () => {
    const [a, b, c] = users;
    expect(codes(await gql(server.url, CREATE_GROUP, { t: '   ', m: [] }, a!.token))).toEqual(['BAD_USER_INPUT']);
    const group = await createGroup(a!, [b!]);
    expect(codes(await gql(server.url, ADD_MEMBERS, { c: group.id, u: [c!.id] }, c!.token))).toEqual(['FORBIDDEN']);
    expect(codes(await gql(server.url, ADD_MEMBERS, { c: '5555', u: [c!.id] }, a!.token))).toEqual(['FORBIDDEN']);
  });

  it('refuses titles with bidi or other format controls, and keeps emoji joiners', async () => {
    const [a] = users;
    for (const t of ['\u202Eevil', 'a\u2066b', 'zero\u200Bwidth', 'lone \uDC00']) {
      expect(codes(await gql(server.url, CREATE_GROUP, { t, m: [] }, a!.token))).toEqual(['BAD_USER_INPUT']);
    }
    const group = await createGroup(a!, [], '👨‍👩‍👧 Family');
    expect(group.title).toBe('👨‍👩‍👧 Family');
  });

  it('limits how many groups one user may create or add to (GROUP_RATE_*), creating nothing beyond', async () => {
    const limited = await startTestServer({ env: { GROUP_RATE_BURST: '3', GROUP_RATE_PER_SECOND: '0.01' } });
    try {
      const [spammer, other] = await signUpMany(limited.url, 2, 'spam');
      const made = [];
      for (let i = 0; i < 3; i++) {
        made.push((await gqlOk(limited.url, CREATE_GROUP, { t: `g${i}`, m: [other!.id] }, spammer!.token)).createGroup);
      }
      const refused = await gql(limited.url, CREATE_GROUP, { t: 'one more', m: [other!.id] }, spammer!.token);
      expect(codes(refused)).toEqual(['RATE_LIMITED']);
      expect(codes(await gql(limited.url, ADD_MEMBERS, { c: made[0].id, u: [other!.id] }, spammer!.token))).toEqual([
        'RATE_LIMITED',
      ]);
      const listed = await gqlOk(
        limited.url,
        '{ conversations(first: 100) { edges { node { id } } } }',
        {},
        other!.token,
      );
      expect(listed.conversations.edges.length).toBe(3);
      // Per user: someone else may still create one.
      expect(codes(await gql(limited.url, CREATE_GROUP, { t: 'mine', m: [] }, other!.token))).toEqual([]);
    } finally {
      await limited.stop();
    }
  });

  it('lets a member leave, idempotently; afterwards they cannot read or send', async () => {
    const [a, b] = users;
    const group = await createGroup(a!, [b!]);
    expect((await gqlOk(server.url, LEAVE, { c: group.id }, b!.token)).leaveConversation).toBe(true);
    expect((await gqlOk(server.url, LEAVE, { c: group.id }, b!.token)).leaveConversation).toBe(true);
    expect(codes(await gql(server.url, CONVERSATION, { id: group.id }, b!.token))).toEqual(['FORBIDDEN']);
    expect(codes(await gql(server.url, SEND, { c: group.id, t: 'hi' }, b!.token))).toEqual(['FORBIDDEN']);
    expect((await gqlOk(server.url, CONVERSATION, { id: group.id }, a!.token)).conversation.members).toEqual([
      { id: a!.id },
    ]);
    expect((await gqlOk(server.url, LEAVE, { c: '4444' }, b!.token)).leaveConversation).toBe(true);
  });
});

describe('conversation and conversations', () => {
  it('shows a conversation to members only; unknown ids are FORBIDDEN alike', async () => {
    const [a, b, c] = await signUpMany(server.url, 3);
    const group = await createGroup(a!, [b!]);
    expect((await gqlOk(server.url, CONVERSATION, { id: group.id }, b!.token)).conversation.id).toBe(group.id);
    const outsider = await gql(server.url, CONVERSATION, { id: group.id }, c!.token);
    expect(codes(outsider)).toEqual(['FORBIDDEN']);
    expect(outsider.data?.conversation ?? null).toBeNull();
    expect(codes(await gql(server.url, CONVERSATION, { id: '1' }, c!.token))).toEqual(['FORBIDDEN']);
  });

  it('lists conversations by most recent activity, paging with cursors', async () => {
    const [a, b] = await signUpMany(server.url, 2);
    const groups = [];
    for (let i = 0; i < 5; i++) groups.push(await createGroup(a!, [b!], `g${i}`));
    // Activity order: g2 newest, then g0, then the untouched ones newest-created first.
    await gqlOk(server.url, SEND, { c: groups[0].id, t: 'zero' }, b!.token);
    await new Promise((r) => setTimeout(r, 5));
    await gqlOk(server.url, SEND, { c: groups[2].id, t: 'two' }, a!.token);
    const all = (await gqlOk(server.url, LIST, { first: 10 }, a!.token)).conversations;
    expect(all.edges.map((e: any) => e.node.title)).toEqual(['g2', 'g0', 'g4', 'g3', 'g1']);
    expect(all.edges[0].node.lastMessage).toEqual({ content: 'two' });
    expect(all.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });

    const titles: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = (await gqlOk(server.url, LIST, { first: 2, after }, a!.token)).conversations;
      titles.push(...page.edges.map((e: any) => e.node.title));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(titles).toEqual(['g2', 'g0', 'g4', 'g3', 'g1']);
    expect(codes(await gql(server.url, LIST, { first: 101 }, a!.token))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await gql(server.url, LIST, { after: 'bogus' }, a!.token))).toEqual(['BAD_USER_INPUT']);
  });

  it('counts unread messages from others after the read position, and moves it forward only', async () => {
    const [a, b] = await signUpMany(server.url, 2);
    const group = await createGroup(a!, [b!]);
    const sent = [];
    for (const [user, text] of [
      [b, 'b1'],
      [a, 'a1'],
      [b, 'b2'],
      [b, 'b3'],
    ] as const) {
      sent.push((await gqlOk(server.url, SEND, { c: group.id, t: text }, user!.token)).sendMessage);
    }
    let view = (await gqlOk(server.url, CONVERSATION, { id: group.id }, a!.token)).conversation;
    expect(view).toMatchObject({
      unreadCount: 3,
      lastReadMessageId: null,
      lastMessage: { id: sent[3].id, content: 'b3' },
    });
    const bView = (await gqlOk(server.url, CONVERSATION, { id: group.id }, b!.token)).conversation;
    expect(bView.unreadCount).toBe(1);

    view = (await gqlOk(server.url, MARK_READ, { c: group.id, m: sent[2].id }, a!.token)).markRead;
    expect(view).toEqual({ id: group.id, unreadCount: 1, lastReadMessageId: sent[2].id });
    view = (await gqlOk(server.url, MARK_READ, { c: group.id, m: sent[0].id }, a!.token)).markRead;
    expect(view).toEqual({ id: group.id, unreadCount: 1, lastReadMessageId: sent[2].id });
    view = (await gqlOk(server.url, MARK_READ, { c: group.id, m: sent[3].id }, a!.token)).markRead;
    expect(view.unreadCount).toBe(0);

    const other = await createGroup(b!, []);
    const foreign = (await gqlOk(server.url, SEND, { c: other.id, t: 'x' }, b!.token)).sendMessage;
    expect(codes(await gql(server.url, MARK_READ, { c: group.id, m: foreign.id }, a!.token))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(codes(await gql(server.url, MARK_READ, { c: other.id, m: foreign.id }, a!.token))).toEqual(['FORBIDDEN']);
  });
});
