import { randomBytes } from 'node:crypto';
import { createIdGenerator } from '../../src/cluster/ids';
import type { NewMessage, Store } from '../../src/store/store';
import { describeMessageChanges } from './store.changes.conformance';

/**
 * The behaviour every Store implementation must have. Each backend's test
 * file calls `describeStore` with a factory; every test gets a fresh store.
 */
export function describeStore(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    const ids = createIdGenerator({ workerId: 7 });
    const t0 = new Date('2026-01-01T00:00:00.000Z');
    const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    const newUser = async (username = `u${randomBytes(5).toString('hex')}`) => {
      const user = await store.users.create({
        id: ids.next(),
        username,
        displayName: username.toUpperCase(),
        passwordHash: 'h',
        createdAt: t0,
      });
      if (!user) throw new Error('username taken');
      return user;
    };
    const group = (memberIds: string[], createdAt = t0) =>
      store.conversations.createGroup({ id: ids.next(), title: 'g', memberIds, createdAt });
    const message = (conversationId: string, senderId: string, extra: Partial<NewMessage> = {}): NewMessage => ({
      id: ids.next(),
      conversationId,
      senderId,
      content: 'hello',
      clientMessageId: null,
      createdAt: t0,
      ...extra,
    });

    describe('users', () => {
      it('tells a taken id (two processes sharing a worker id) from a taken username: it throws, never says taken', async () => {
        const u = await newUser();
        const again = {
          id: u.id,
          username: `other_${randomBytes(4).toString('hex')}`,
          displayName: 'x',
          passwordHash: 'h',
          createdAt: t0,
        };
        await expect(store.users.create(again)).rejects.toThrow(/id/);
        expect((await store.users.getMany([u.id]))[0]).toEqual(u);
        expect(await store.users.findCredentials(again.username)).toBeNull();
      });

      it('refuses a message or a conversation whose id is taken instead of retrying or merging', async () => {
        const [a, b] = [await newUser(), await newUser()];
        const g = await group([a.id]);
        const first = await store.messages.append(message(g.id, a.id));
        await expect(store.messages.append({ ...message(g.id, a.id), id: first.message.id })).rejects.toThrow(/id/);
        await expect(
          store.conversations.findOrCreateDirect({ id: g.id, userIds: [a.id, b.id], createdAt: t0 }),
        ).rejects.toThrow(/id/);
        await expect(
          store.conversations.createGroup({ id: g.id, title: 't', memberIds: [b.id], createdAt: t0 }),
        ).rejects.toThrow(/id/);
        expect((await store.conversations.getMany([g.id]))[0]!.memberIds).toEqual([a.id]);
      });

      it('creates users, refuses a taken username, and finds credentials', async () => {
        const u = await newUser('alice');
        expect(u).toEqual({
          id: u.id,
          username: 'alice',
          displayName: 'ALICE',
          createdAt: t0,
          deletedAt: null,
          avatarKey: null,
        });
        expect(
          await store.users.create({
            id: ids.next(),
            username: 'alice',
            displayName: 'x',
            passwordHash: 'h2',
            createdAt: t0,
          }),
        ).toBeNull();
        expect(await store.users.findCredentials('alice')).toEqual({ user: u, passwordHash: 'h' });
        expect(await store.users.findCredentials('nobody')).toBeNull();
      });

      it('refuses a taken username when created concurrently', async () => {
        const results = await Promise.all(
          Array.from({ length: 5 }, () =>
            store.users.create({
              id: ids.next(),
              username: 'race',
              displayName: 'r',
              passwordHash: 'h',
              createdAt: t0,
            }),
          ),
        );
        expect(results.filter((r) => r !== null)).toHaveLength(1);
      });

      it('returns getMany in key order with null for misses', async () => {
        const a = await newUser();
        const b = await newUser();
        expect(await store.users.getMany([b.id, 'missing', a.id, b.id])).toEqual([b, null, a, b]);
        expect(await store.users.getMany([])).toEqual([]);
      });

      it('searches by prefix in username order, up to the limit', async () => {
        for (const n of ['bob_2', 'bob_1', 'bobby', 'alice', 'bo']) await newUser(n);
        expect((await store.users.searchByPrefix('bob', 10)).map((u) => u.username)).toEqual([
          'bob_1',
          'bob_2',
          'bobby',
        ]);
        expect((await store.users.searchByPrefix('bo', 2)).map((u) => u.username)).toEqual(['bo', 'bob_1']);
        expect(await store.users.searchByPrefix('zz', 5)).toEqual([]);
      });

      it('hands out copies: changing a record changes nothing stored', async () => {
        const u = await newUser();
        u.displayName = 'changed';
        expect((await store.users.getMany([u.id]))[0]!.displayName).not.toBe('changed');
      });
    });

    describe('profiles, replies, mentions and mutes', () => {
      it('replaces a display name; null for an unknown user', async () => {
        const u = await newUser();
        expect(await store.users.setDisplayName(u.id, 'New Name')).toEqual({ ...u, displayName: 'New Name' });
        expect((await store.users.getMany([u.id]))[0]!.displayName).toBe('New Name');
        expect(await store.users.setDisplayName('no-such-user', 'x')).toBeNull();
      });

      it('keeps what a message replies to and whom it mentions; none for a message without', async () => {
        const [a, b] = [await newUser(), await newUser()];
        const g = await group([a.id, b.id]);
        const { message: first } = await store.messages.append(message(g.id, a.id));
        const { message: reply } = await store.messages.append(
          message(g.id, b.id, { replyToId: first.id, mentionIds: [a.id, b.id] }),
        );
        expect(first).toMatchObject({ replyToId: null, mentionIds: [] });
        expect(reply).toMatchObject({ replyToId: first.id, mentionIds: [a.id, b.id] });
        expect(await store.messages.getMany([reply.id, first.id])).toEqual([reply, first]);
        expect((await store.messages.page(g.id, { limit: 10, from: 'oldest' })).map((m) => m.replyToId)).toEqual([
          null,
          first.id,
        ]);
      });

      it('mutes until an instant, unmutes, and answers null for a non-member', async () => {
        const [a, b, stranger] = [await newUser(), await newUser(), await newUser()];
        const g = await group([a.id, b.id]);
        const until = new Date(t0.getTime() + 3_600_000);
        expect(await store.conversations.setMute(g.id, a.id, until)).toMatchObject({ userId: a.id, mutedUntil: until });
        const key = (userId: string) => ({ conversationId: g.id, userId });
        expect((await store.conversations.getMemberships([key(a.id), key(b.id)])).map((m) => m?.mutedUntil)).toEqual([
          until,
          null,
        ]);
        expect(await store.conversations.setMute(g.id, a.id, null)).toMatchObject({ mutedUntil: null });
        expect((await store.conversations.getMemberships([key(a.id)]))[0]!.mutedUntil).toBeNull();
        expect(await store.conversations.setMute(g.id, stranger.id, until)).toBeNull();
      });
    });

    describe('friends', () => {
      it('counts only mutual adds as friends; remove ends both directions', async () => {
        const [a, b, c] = [await newUser(), await newUser(), await newUser()];
        await store.friends.add(a.id, b.id);
        await store.friends.add(a.id, b.id);
        await store.friends.add(a.id, c.id);
        expect(await store.friends.listMutual(a.id)).toEqual([]);
        await store.friends.add(b.id, a.id);
        expect(await store.friends.listMutual(a.id)).toEqual([b.id]);
        expect(await store.friends.listMutual(b.id)).toEqual([a.id]);
        await store.friends.remove(b.id, a.id);
        expect(await store.friends.listMutual(a.id)).toEqual([]);
        await store.friends.add(b.id, a.id);
        expect(await store.friends.listMutual(a.id)).toEqual([]);
        await store.friends.remove(b.id, a.id);
      });
    });

    describe('conversations', () => {
      it('creates one direct conversation per pair, whatever the order and concurrency', async () => {
        const [a, b] = [await newUser(), await newUser()];
        const made = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            store.conversations.findOrCreateDirect({
              id: ids.next(),
              userIds: i % 2 ? [a.id, b.id] : [b.id, a.id],
              createdAt: t0,
            }),
          ),
        );
        expect(new Set(made.map((c) => c.id)).size).toBe(1);
        expect(made[0]).toMatchObject({
          kind: 'DIRECT',
          title: null,
          lastSeq: 0,
          lastMessageId: null,
          lastActivityAt: t0,
        });
        expect([...made[0]!.memberIds].sort()).toEqual([a.id, b.id].sort());
        expect(await store.conversations.listAllForUser(a.id)).toHaveLength(1);
      });

      it('creates groups and adds members atomically up to the maximum', async () => {
        const users = await Promise.all(Array.from({ length: 6 }, () => newUser()));
        const g = await group([users[0]!.id, users[1]!.id]);
        expect(g).toMatchObject({ kind: 'GROUP', title: 'g', memberIds: [users[0]!.id, users[1]!.id] });
        expect(await store.conversations.addMembers('missing', [users[2]!.id], 4)).toEqual({ status: 'missing' });
        const results = await Promise.all([
          store.conversations.addMembers(g.id, [users[2]!.id, users[3]!.id], 4),
          store.conversations.addMembers(g.id, [users[4]!.id, users[5]!.id], 4),
        ]);
        expect(results.map((r) => r.status).sort()).toEqual(['ok', 'too-many']);
        expect((await store.conversations.getMany([g.id]))[0]!.memberIds).toHaveLength(4);
        const again = await store.conversations.addMembers(g.id, [users[0]!.id], 4);
        expect(again.status).toBe('ok');
        const direct = await store.conversations.findOrCreateDirect({
          id: ids.next(),
          userIds: [users[0]!.id, users[1]!.id],
          createdAt: t0,
        });
        expect(await store.conversations.addMembers(direct.id, [users[2]!.id], 4)).toEqual({ status: 'not-a-group' });
      });

      it('tracks memberships: joinedSeq, read position forward only, removal', async () => {
        const [a, b] = [await newUser(), await newUser()];
        const g = await group([a.id]);
        const m1 = (await store.messages.append(message(g.id, a.id))).message;
        const m2 = (await store.messages.append(message(g.id, a.id))).message;
        await store.conversations.addMembers(g.id, [b.id], 100);
        const [ma, mb, none] = await store.conversations.getMemberships([
          { conversationId: g.id, userId: a.id },
          { conversationId: g.id, userId: b.id },
          { conversationId: g.id, userId: 'nobody' },
        ]);
        expect(ma).toEqual({
          conversationId: g.id,
          userId: a.id,
          joinedSeq: 0,
          lastReadSeq: 0,
          lastReadMessageId: null,
          mutedUntil: null,
          // The creator joined when the group was made; later members when they were added.
          joinedAt: g.createdAt,
        });
        expect(mb).toMatchObject({ joinedSeq: 2, lastReadSeq: 0 });
        expect(mb!.joinedAt!.getTime()).toBeGreaterThan(g.createdAt.getTime());
        expect(none).toBeNull();
        expect(await store.conversations.markRead(g.id, b.id, 2, m2.id)).toMatchObject({
          membership: { lastReadSeq: 2, lastReadMessageId: m2.id },
          advanced: true,
        });
        expect(await store.conversations.markRead(g.id, b.id, 1, m1.id)).toMatchObject({
          membership: { lastReadSeq: 2, lastReadMessageId: m2.id },
          advanced: false,
        });
        expect(await store.conversations.markRead(g.id, b.id, 2, m2.id)).toMatchObject({ advanced: false });
        const positions = await store.conversations.readPositions([g.id, 'missing', g.id]);
        expect(positions[0]!.map((p) => [p.userId, p.lastReadSeq])).toEqual([
          [a.id, 0],
          [b.id, 2],
        ]);
        expect(positions[1]).toEqual([]);
        expect(positions[2]).toEqual(positions[0]);
        expect(await store.conversations.markRead(g.id, 'nobody', 1, m1.id)).toBeNull();
        await store.conversations.removeMember(g.id, b.id);
        await store.conversations.removeMember(g.id, b.id);
        expect((await store.conversations.getMemberships([{ conversationId: g.id, userId: b.id }]))[0]).toBeNull();
        expect((await store.conversations.getMany([g.id]))[0]!.memberIds).toEqual([a.id]);
        expect(await store.conversations.listAllForUser(b.id)).toEqual([]);
      });

      it("lists a user's conversations by last activity, then id, with cursors", async () => {
        const a = await newUser();
        const gs = [];
        for (let i = 0; i < 5; i++) gs.push(await group([a.id], at(i)));
        await store.messages.append(message(gs[1]!.id, a.id, { createdAt: at(100) }));
        const order = [gs[1], gs[4], gs[3], gs[2], gs[0]].map((g) => g!.id);
        const all = await store.conversations.listForUser(a.id, { first: 10 });
        expect(all.map((c) => c.id)).toEqual(order);
        expect(all[0]).toMatchObject({ lastSeq: 1, lastActivityAt: at(100) });
        const page = await store.conversations.listForUser(a.id, { first: 2, after: all[1]! });
        expect(page.map((c) => c.id)).toEqual(order.slice(2, 4));
        // Ties in time are broken by id.
        const b = await newUser();
        const tied = [await group([b.id], t0), await group([b.id], t0), await group([b.id], t0)];
        const tiedIds = tied.map((c) => c.id).sort((x, y) => (BigInt(y) > BigInt(x) ? 1 : -1));
        expect((await store.conversations.listForUser(b.id, { first: 10 })).map((c) => c.id)).toEqual(tiedIds);
        expect(
          (
            await store.conversations.listForUser(b.id, { first: 10, after: tied.find((c) => c.id === tiedIds[0])! })
          ).map((c) => c.id),
        ).toEqual(tiedIds.slice(1));
      });
    });

    describe('messages', () => {
      it('numbers messages 1, 2, 3 per conversation with no gaps, also under concurrency', async () => {
        const a = await newUser();
        const [g1, g2] = [await group([a.id]), await group([a.id])];
        const appended = await Promise.all(
          Array.from({ length: 60 }, (_, i) => store.messages.append(message(i % 3 ? g1.id : g2.id, a.id))),
        );
        const seqsOf = (id: string) =>
          appended
            .filter((r) => r.message.conversationId === id)
            .map((r) => r.message.seq)
            .sort((x, y) => x - y);
        expect(seqsOf(g1.id)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
        expect(seqsOf(g2.id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(appended.every((r) => r.created)).toBe(true);
        const [c1] = await store.conversations.getMany([g1.id]);
        const newest = appended.find((r) => r.message.conversationId === g1.id && r.message.seq === 40)!.message;
        expect(c1).toMatchObject({ lastSeq: 40, lastMessageId: newest.id });
      });

      it('stores a clientMessageId once per sender and conversation, also under concurrency', async () => {
        const [a, b] = [await newUser(), await newUser()];
        const g = await group([a.id, b.id]);
        const tries = await Promise.all(
          Array.from({ length: 5 }, () => store.messages.append(message(g.id, a.id, { clientMessageId: 'k1' }))),
        );
        expect(new Set(tries.map((r) => r.message.id)).size).toBe(1);
        expect(tries.filter((r) => r.created)).toHaveLength(1);
        const other = await store.messages.append(message(g.id, b.id, { clientMessageId: 'k1' }));
        expect(other.created).toBe(true);
        const elsewhere = await store.messages.append(
          message((await group([a.id])).id, a.id, { clientMessageId: 'k1' }),
        );
        expect(elsewhere.created).toBe(true);
        expect((await store.messages.page(g.id, { limit: 10, from: 'oldest' })).map((m) => m.seq)).toEqual([1, 2]);
      });

      it('pages by seq windows from either end and counts unread', async () => {
        const [a, b] = [await newUser(), await newUser()];
        const g = await group([a.id, b.id]);
        const all = [];
        for (let i = 1; i <= 10; i++)
          all.push((await store.messages.append(message(g.id, i % 2 ? a.id : b.id, { content: `m${i}` }))).message);
        const seqs = (r: { seq: number }[]) => r.map((m) => m.seq);
        expect(seqs(await store.messages.page(g.id, { limit: 3, from: 'oldest' }))).toEqual([1, 2, 3]);
        expect(seqs(await store.messages.page(g.id, { limit: 3, from: 'newest' }))).toEqual([8, 9, 10]);
        expect(seqs(await store.messages.page(g.id, { afterSeq: 4, limit: 3, from: 'oldest' }))).toEqual([5, 6, 7]);
        expect(seqs(await store.messages.page(g.id, { beforeSeq: 4, limit: 5, from: 'newest' }))).toEqual([1, 2, 3]);
        expect(seqs(await store.messages.page(g.id, { afterSeq: 2, beforeSeq: 6, limit: 10, from: 'newest' }))).toEqual(
          [3, 4, 5],
        );
        expect(seqs(await store.messages.page(g.id, { afterSeq: 10, limit: 10, from: 'oldest' }))).toEqual([]);
        expect(await store.messages.page(g.id, { limit: 0, from: 'oldest' })).toEqual([]);
        expect(await store.messages.page('missing', { limit: 5, from: 'oldest' })).toEqual([]);
        expect(await store.messages.getMany([all[4]!.id, 'nope'])).toEqual([all[4], null]);
        expect(await store.messages.countUnread(g.id, 0, a.id)).toBe(5);
        expect(await store.messages.countUnread(g.id, 7, a.id)).toBe(2);
        expect(await store.messages.countUnread(g.id, 10, b.id)).toBe(0);
      });
    });

    describeMessageChanges(() => ({ store, newUser, group, message }));

    describe('push tokens', () => {
      const register = (token: string, userId: string, seconds: number, max = 20, platform = 'ANDROID' as const) =>
        store.pushTokens.register({ token, userId, platform }, at(seconds), max);
      const tokensOf = async (userId: string) =>
        (await store.pushTokens.listForUsers([userId])).map((t) => t.token).sort();

      it("registers idempotently, moves a token to its new owner, and unregisters only the owner's", async () => {
        const [a, b] = [await newUser(), await newUser()];
        await register('t1', a.id, 1);
        await register('t1', a.id, 2);
        await store.pushTokens.register({ token: 't2', userId: a.id, platform: 'WEB' }, at(3), 20);
        expect(await tokensOf(a.id)).toEqual(['t1', 't2']);
        await store.pushTokens.register({ token: 't1', userId: b.id, platform: 'IOS' }, at(4), 20);
        expect(await tokensOf(a.id)).toEqual(['t2']);
        expect(await store.pushTokens.listForUsers([b.id])).toEqual([{ token: 't1', userId: b.id, platform: 'IOS' }]);
        await store.pushTokens.unregister(a.id, 't1');
        expect(await store.pushTokens.listForUsers([b.id])).toHaveLength(1);
        await store.pushTokens.unregister(b.id, 't1');
        await store.pushTokens.unregister(b.id, 't1');
        expect(await store.pushTokens.listForUsers([a.id, b.id])).toHaveLength(1);
      });

      it('keeps at most the cap per user, dropping the least recently registered; a refresh counts as new', async () => {
        const [a, b] = [await newUser(), await newUser()];
        for (let i = 1; i <= 5; i++) await register(`a${i}`, a.id, i, 3);
        expect(await tokensOf(a.id)).toEqual(['a3', 'a4', 'a5']);
        // a3 registered again is the newest now: a4 goes next.
        await register('a3', a.id, 6, 3);
        await register('a6', a.id, 7, 3);
        expect(await tokensOf(a.id)).toEqual(['a3', 'a5', 'a6']);
        // A token taken by another user leaves room, and is not counted against them twice.
        await register('a5', b.id, 8, 3);
        expect(await tokensOf(a.id)).toEqual(['a3', 'a6']);
        expect(await tokensOf(b.id)).toEqual(['a5']);
        // Other users' tokens are never evicted by a's registrations.
        for (let i = 7; i <= 12; i++) await register(`a${i}`, a.id, 2 + i, 3);
        expect(await tokensOf(a.id)).toEqual(['a10', 'a11', 'a12']);
        expect(await tokensOf(b.id)).toEqual(['a5']);
      });

      it('never drops the token just registered, even when it is not newer than the others', async () => {
        const a = await newUser();
        for (let i = 1; i <= 3; i++) await register(`z${i}`, a.id, 10, 3);
        // Registered at the same instant, it ranks below z1 to z3 (equal times go by token): kept all the same.
        await register('a0', a.id, 10, 3);
        expect(await tokensOf(a.id)).toEqual(['a0', 'z2', 'z3']);
        // From a clock that is behind, too.
        await register('b0', a.id, 5, 3);
        expect(await tokensOf(a.id)).toEqual(['b0', 'z2', 'z3']);
      });

      it('holds at most the cap once concurrent registrations of one user are done, the newest among them', async () => {
        const a = await newUser();
        const name = (i: number) => `c${String(i).padStart(2, '0')}`;
        await Promise.all(Array.from({ length: 30 }, (_, i) => register(name(i), a.id, i, 5)));
        const kept = await tokensOf(a.id);
        expect(kept.length).toBeLessThanOrEqual(5);
        expect(kept).toContain(name(29));
        await register('d0', a.id, 100, 5);
        const after = await tokensOf(a.id);
        expect(after.length).toBeLessThanOrEqual(5);
        expect(after).toEqual(expect.arrayContaining(['d0', name(29)]));
      });
    });
  });
}
