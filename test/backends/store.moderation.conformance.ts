import { randomBytes } from 'node:crypto';
import { createIdGenerator } from '../../src/cluster/ids';
import type { ReportRecord, Store } from '../../src/store/store';

/**
 * Reports, suspensions and account deletions, and what a deletion needs of
 * the other parts (marking the user, the sender's messages, all push tokens),
 * for every Store implementation; every test gets a fresh store.
 */
export function describeModerationStore(name: string, makeStore: () => Promise<Store>): void {
  describe(`Moderation and account store conformance: ${name}`, () => {
    let store: Store;
    const ids = createIdGenerator({ workerId: 9 });
    const t0 = new Date('2026-01-01T00:00:00.000Z');
    const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    const newUser = async () => {
      const username = `u${randomBytes(5).toString('hex')}`;
      const user = await store.users.create({
        id: ids.next(),
        username,
        displayName: 'U',
        passwordHash: 'h',
        createdAt: t0,
      });
      if (!user) throw new Error('username taken');
      return user;
    };
    const groupMessage = async (senderId: string, content = 'hello') => {
      const g = await store.conversations.createGroup({
        id: ids.next(),
        title: 'g',
        memberIds: [senderId],
        createdAt: t0,
      });
      const { message } = await store.messages.append({
        id: ids.next(),
        conversationId: g.id,
        senderId,
        content,
        clientMessageId: null,
        createdAt: t0,
      });
      return message;
    };

    it('stores reports with a copy of the message, and lists them newest first from a position', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const message = await groupMessage(b.id, 'as reported');
      const report = (seconds: number, extra: Partial<ReportRecord> = {}): ReportRecord => ({
        id: ids.next(),
        reporterId: a.id,
        reason: 'SPAM',
        note: null,
        reportedUserId: b.id,
        message: null,
        createdAt: at(seconds),
        ...extra,
      });
      const r1 = report(1, { message, note: 'look' });
      const r2 = report(2);
      const r3 = report(2, { reason: 'HATE' }); // same instant: the later id first
      for (const r of [r1, r2, r3]) await store.moderation.addReport(r);
      await store.messages.edit(message.id, 'changed', at(3));
      await expect(store.moderation.addReport(r2)).rejects.toThrow(/id/);
      expect(await store.moderation.listReports({ first: 10 })).toEqual([r3, r2, r1]);
      expect(await store.moderation.listReports({ first: 1, after: r3 })).toEqual([r2]);
      const [last] = await store.moderation.listReports({ first: 5, after: r2 });
      expect(last).toEqual(r1);
      expect(last!.message!.content).toBe('as reported');
      expect(await store.moderation.listReports({ first: 5, after: r1 })).toEqual([]);
      expect(await store.moderation.listReports({ first: 0 })).toEqual([]);
    });

    it('keeps the first suspension of an account', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const first = { userId: b.id, by: a.id, reason: 'spam', at: at(1) };
      expect(await store.moderation.suspend(first)).toEqual({ suspension: first, created: true });
      expect(await store.moderation.suspend({ ...first, reason: 'again', at: at(2) })).toEqual({
        suspension: first,
        created: false,
      });
      expect(await store.moderation.getSuspensions([a.id, b.id, a.id])).toEqual([null, first, null]);
    });

    it('records a deletion once, lists it until finished, and marks the user deleted with the username kept', async () => {
      const [a, b] = [await newUser(), await newUser()];
      expect(await store.deletions.get(a.id)).toBeNull();
      const started = await store.deletions.start(a.id, at(1));
      expect(started).toEqual({ userId: a.id, startedAt: at(1), finishedAt: null });
      expect(await store.deletions.start(a.id, at(2))).toEqual(started);
      await store.deletions.start(b.id, at(3));
      expect((await store.deletions.listUnfinished(10)).map((d) => d.userId)).toEqual([a.id, b.id]);
      await store.deletions.finish(a.id, at(4));
      await store.deletions.finish(a.id, at(5));
      expect(await store.deletions.get(a.id)).toEqual({ userId: a.id, startedAt: at(1), finishedAt: at(4) });
      expect((await store.deletions.listUnfinished(10)).map((d) => d.userId)).toEqual([b.id]);

      expect(a.deletedAt).toBeNull();
      const marked = await store.users.markDeleted(a.id, at(6), 'Deleted user');
      expect(marked).toEqual({ ...a, displayName: 'Deleted user', deletedAt: at(6) });
      expect((await store.users.markDeleted(a.id, at(7), 'Deleted user'))!.deletedAt).toEqual(at(6));
      expect((await store.users.getMany([a.id]))[0]).toEqual(marked);
      expect((await store.users.findCredentials(a.username))!.user).toEqual(marked);
      expect(await store.users.markDeleted('404', at(7), 'x')).toBeNull();
    });

    it("pages through a sender's messages that are not deleted, and removes all of a user's push tokens", async () => {
      const [a, b] = [await newUser(), await newUser()];
      const mine = [];
      for (let i = 0; i < 5; i++) mine.push(await groupMessage(a.id, `m${i}`));
      await groupMessage(b.id);
      await store.messages.delete(mine[0]!.id, at(1));
      const seen = new Set<string>();
      for (;;) {
        const batch = await store.messages.listUndeletedBySender(a.id, 2);
        expect(batch.length).toBeLessThanOrEqual(2);
        if (batch.length === 0) break;
        for (const m of batch) {
          expect(m.senderId).toBe(a.id);
          seen.add(m.id);
          await store.messages.delete(m.id, at(2));
        }
      }
      expect([...seen].sort()).toEqual(
        mine
          .slice(1)
          .map((m) => m.id)
          .sort(),
      );

      await store.pushTokens.register({ token: 'p1', userId: a.id, platform: 'IOS' }, at(1), 20);
      await store.pushTokens.register({ token: 'p2', userId: a.id, platform: 'WEB' }, at(2), 20);
      await store.pushTokens.register({ token: 'p3', userId: b.id, platform: 'WEB' }, at(3), 20);
      await store.pushTokens.unregisterAll(a.id);
      await store.pushTokens.unregisterAll(a.id);
      expect(await store.pushTokens.listForUsers([a.id, b.id])).toEqual([
        { token: 'p3', userId: b.id, platform: 'WEB' },
      ]);
    });
  });
}
