import type {
  ConversationRecord,
  MessageChange,
  MessageRecord,
  NewMessage,
  Store,
  UserRecord,
} from '../../src/store/store';

/** What the store conformance suite hands these tests: its fresh store and record makers. */
export interface ChangesFixture {
  store: Store;
  newUser(): Promise<UserRecord>;
  group(memberIds: string[]): Promise<ConversationRecord>;
  message(conversationId: string, senderId: string, extra?: Partial<NewMessage>): NewMessage;
}

const t = (seconds: number) => new Date(Date.UTC(2026, 0, 2, 0, 0, seconds));

function ok(change: MessageChange): MessageRecord {
  if (change.status !== 'ok') throw new Error(`expected ok, got ${change.status}`);
  return change.message;
}

const summary = (m: MessageRecord) => m.reactions.map((r) => [r.emoji, [...r.userIds].sort()]);

/**
 * Edits, deletions, reactions and blocks, part of the store conformance
 * suite: `fixture` is called inside each test, after the suite's beforeEach.
 */
export function describeMessageChanges(fixture: () => ChangesFixture): void {
  async function sent(memberCount = 2) {
    const f = fixture();
    const users = await Promise.all(Array.from({ length: memberCount }, () => f.newUser()));
    const g = await f.group(users.map((u) => u.id));
    const { message } = await f.store.messages.append(f.message(g.id, users[0]!.id, { content: 'original' }));
    return { ...f, users, g, sent: message };
  }

  describe('message changes', () => {
    it('stores a new message unedited, undeleted and without reactions', async () => {
      const { sent: m } = await sent();
      expect(m).toMatchObject({ editedAt: null, deletedAt: null, reactions: [] });
    });

    it('edits and deletes, keeping id and seq, and history and getMany show the current state', async () => {
      const { store, g, sent: m } = await sent();
      const edited = ok(await store.messages.edit(m.id, 'changed', t(1)));
      expect(edited).toMatchObject({ id: m.id, seq: 1, content: 'changed', editedAt: t(1), deletedAt: null });
      expect((await store.messages.getMany([m.id]))[0]).toEqual(edited);
      const deleted = ok(await store.messages.delete(m.id, t(2)));
      expect(deleted).toMatchObject({ id: m.id, seq: 1, content: '', deletedAt: t(2) });
      expect(ok(await store.messages.delete(m.id, t(3)))).toEqual(deleted);
      expect(await store.messages.edit(m.id, 'again', t(4))).toMatchObject({ status: 'deleted' });
      expect(await store.messages.react(m.id, m.senderId, '👍', t(5), 20)).toMatchObject({ status: 'deleted' });
      expect(await store.messages.page(g.id, { limit: 10, from: 'oldest' })).toEqual([deleted]);
      expect(await store.messages.edit('missing', 'x', t(1))).toEqual({ status: 'missing' });
      expect(await store.messages.delete('missing', t(1))).toEqual({ status: 'missing' });
      expect(await store.messages.react('missing', 'u', '👍', t(1), 20)).toEqual({ status: 'missing' });
      expect(await store.messages.unreact('missing', 'u', '👍')).toEqual({ status: 'missing' });
    });

    it('ends concurrent edits and a delete in one of their states, never a mix', async () => {
      for (let round = 0; round < 3; round++) {
        const { store, sent: m } = await sent();
        const results = await Promise.all([
          store.messages.edit(m.id, 'first', t(1)),
          store.messages.delete(m.id, t(2)),
          store.messages.edit(m.id, 'second', t(3)),
        ]);
        const [final] = await store.messages.getMany([m.id]);
        // The delete is acknowledged and nothing edits a deleted message: it ends deleted, with nothing of an edit
        // but the time of one that came before it.
        expect(results[1]!.status).toBe('ok');
        expect(final).toMatchObject({ content: '', deletedAt: t(2), reactions: [] });
        for (const edit of [results[0]!, results[2]!]) {
          // Applied and answered with the state then (its own, the other edit's, or the delete's), or refused.
          if (edit.status !== 'ok') expect(edit.status).toBe('deleted');
          else if (edit.message.deletedAt !== null)
            expect(edit.message).toMatchObject({ content: '', deletedAt: t(2) });
          else
            expect([
              { content: 'first', editedAt: t(1) },
              { content: 'second', editedAt: t(3) },
            ]).toContainEqual({
              content: edit.message.content,
              editedAt: edit.message.editedAt,
            });
        }
        expect([null, t(1), t(3)]).toContainEqual(final!.editedAt);
      }
    });

    it('keeps one reaction per user and emoji, in order of first use, and removes idempotently', async () => {
      const { store, users, sent: m } = await sent(3);
      const [a, b, c] = users.map((u) => u.id) as [string, string, string];
      ok(await store.messages.react(m.id, a, '👍', t(1), 20));
      ok(await store.messages.react(m.id, b, '🎉', t(2), 20));
      ok(await store.messages.react(m.id, c, '👍', t(3), 20));
      const after = ok(await store.messages.react(m.id, a, '👍', t(4), 20));
      expect(summary(after)).toEqual([
        ['👍', [a, c].sort()],
        ['🎉', [b]],
      ]);
      expect(ok(await store.messages.unreact(m.id, b, '🎉')).reactions.map((r) => r.emoji)).toEqual(['👍']);
      expect(ok(await store.messages.unreact(m.id, b, '🎉')).reactions.map((r) => r.emoji)).toEqual(['👍']);
      expect(summary((await store.messages.getMany([m.id]))[0]!)).toEqual([['👍', [a, c].sort()]]);
      // Deleting hides them.
      expect(ok(await store.messages.delete(m.id, t(9))).reactions).toEqual([]);
    });

    it('counts 20 concurrent reactions of 20 users once each, and 10 of one user once', async () => {
      const { store, users, sent: m } = await sent(20);
      await Promise.all(users.map((u, i) => store.messages.react(m.id, u.id, '❤️', t(i), 20)));
      await Promise.all(Array.from({ length: 10 }, (_, i) => store.messages.react(m.id, users[0]!.id, '😂', t(i), 20)));
      const [final] = await store.messages.getMany([m.id]);
      expect(final!.reactions.map((r) => [r.emoji, r.userIds.length])).toEqual([
        ['❤️', 20],
        ['😂', 1],
      ]);
    });

    it('refuses a 21st distinct emoji, also when they arrive at once', async () => {
      const { store, users, sent: m } = await sent(1);
      const emoji = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙😚🙂🤗🤩🤔'].slice(0, 22);
      const results = await Promise.all(emoji.map((e, i) => store.messages.react(m.id, users[0]!.id, e, t(i), 20)));
      const [final] = await store.messages.getMany([m.id]);
      // Never more than 20; a store may refuse some that would have fitted when they race, but says so.
      expect(final!.reactions.length).toBeLessThanOrEqual(20);
      expect(final!.reactions.length).toBeGreaterThan(0);
      expect(results.filter((r) => r.status === 'ok')).toHaveLength(final!.reactions.length);
      expect(results.filter((r) => r.status !== 'ok').every((r) => r.status === 'too-many')).toBe(true);
      // One at a time, the refused ones fill up to exactly 20.
      for (const e of emoji) await store.messages.react(m.id, users[0]!.id, e, t(40), 20);
      const full = (await store.messages.getMany([m.id]))[0]!;
      expect(full.reactions).toHaveLength(20);
      expect(await store.messages.react(m.id, users[0]!.id, '🚀', t(30), 20)).toEqual({ status: 'too-many' });
      // An emoji already there is still fine, and one removed frees its place.
      ok(await store.messages.react(m.id, users[0]!.id, full.reactions[0]!.emoji, t(31), 20));
      ok(await store.messages.unreact(m.id, users[0]!.id, full.reactions[0]!.emoji));
      expect(ok(await store.messages.react(m.id, users[0]!.id, '🚀', t(50), 20)).reactions.at(-1)!.emoji).toBe('🚀');
    });
  });

  describe('blocks', () => {
    it('blocks one way, idempotently, lists the newest first, and unblocks', async () => {
      const { store } = fixture();
      const [a, b, c] = [await fixture().newUser(), await fixture().newUser(), await fixture().newUser()];
      await store.blocks.block(a.id, b.id, t(1));
      await store.blocks.block(a.id, c.id, t(2));
      await store.blocks.block(a.id, b.id, t(3));
      expect(await store.blocks.listBlocked(a.id)).toEqual([c.id, b.id]);
      expect(await store.blocks.listBlocked(b.id)).toEqual([]);
      expect(
        await store.blocks.isBlocked([
          { blockerId: a.id, blockedId: b.id },
          { blockerId: b.id, blockedId: a.id },
          { blockerId: a.id, blockedId: c.id },
          { blockerId: a.id, blockedId: b.id },
        ]),
      ).toEqual([true, false, true, true]);
      await store.blocks.unblock(a.id, b.id);
      await store.blocks.unblock(a.id, b.id);
      expect(await store.blocks.listBlocked(a.id)).toEqual([c.id]);
      expect(await store.blocks.isBlocked([])).toEqual([]);
    });
  });
}
