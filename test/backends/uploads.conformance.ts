import { createIdGenerator } from '../../src/cluster/ids';
import type { NewUpload, Store, UploadCompletion } from '../../src/store/store';

/**
 * The behaviour every UploadStore must have (and the attachment ids of
 * messages, the avatar of users). `makePair` gives two stores on one
 * database, as two processes have: a claim must be decided across them.
 */
export function describeUploadStore(
  name: string,
  makeStore: () => Promise<Store>,
  makePair?: () => Promise<{ stores: [Store, Store]; close(): Promise<void> }>,
): void {
  describe(`UploadStore conformance: ${name}`, () => {
    let store: Store;
    const ids = createIdGenerator({ workerId: 9 });
    const t0 = new Date('2026-01-01T00:00:00.000Z');
    const at = (hours: number) => new Date(t0.getTime() + hours * 3600_000);

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    const upload = (extra: Partial<NewUpload> = {}): NewUpload => {
      const id = ids.next();
      return {
        id,
        userId: 'u1',
        purpose: 'ATTACHMENT',
        key: `u/u1/${id}`,
        fileName: 'photo.jpg',
        declaredType: 'image/jpeg',
        byteSize: 1234,
        createdAt: t0,
        ...extra,
      };
    };
    const completion = (key: string, extra: Partial<UploadCompletion> = {}): UploadCompletion => ({
      kind: 'IMAGE',
      contentType: 'image/jpeg',
      byteSize: 1000,
      width: 640,
      height: 480,
      servedKey: `${key}-image`,
      thumbnailKey: `${key}-thumb`,
      completedAt: at(0.1),
      ...extra,
    });

    it('stores an upload, unclaimed and not completed, and reads it back by id (null for a miss)', async () => {
      const input = upload();
      const created = await store.uploads.create(input);
      expect(created).toEqual({ ...input, completion: null, holder: null });
      expect(await store.uploads.getMany(['nope', input.id])).toEqual([null, created]);
      await expect(store.uploads.create(input)).rejects.toThrow(/id/);
    });

    it('keeps the first completion', async () => {
      const input = upload();
      await store.uploads.create(input);
      const first = completion(input.key);
      expect((await store.uploads.complete(input.id, first))?.completion).toEqual(first);
      const second = completion(input.key, { byteSize: 5, completedAt: at(1) });
      expect((await store.uploads.complete(input.id, second))?.completion).toEqual(first);
      expect(await store.uploads.complete('nope', first)).toBeNull();
    });

    it('claims all or none, for one holder at a time, and releases only its own claims', async () => {
      const [a, b, c] = [upload(), upload(), upload()];
      for (const u of [a, b, c]) await store.uploads.create(u);
      expect(await store.uploads.claim([a.id, b.id], 'm1')).toEqual({ status: 'ok' });
      expect(await store.uploads.claim([a.id, b.id], 'm1')).toEqual({ status: 'ok' });
      expect(await store.uploads.claim([c.id, b.id], 'm2')).toEqual({ status: 'taken', uploadId: b.id, holder: 'm1' });
      expect((await store.uploads.getMany([c.id]))[0]!.holder).toBeNull();
      expect(await store.uploads.claim([c.id, 'missing'], 'm2')).toEqual({
        status: 'taken',
        uploadId: 'missing',
        holder: null,
      });
      await store.uploads.release([a.id, b.id], 'm2');
      expect((await store.uploads.getMany([a.id, b.id])).map((u) => u!.holder)).toEqual(['m1', 'm1']);
      await store.uploads.release([a.id], 'm1');
      expect((await store.uploads.getMany([a.id, b.id])).map((u) => u!.holder)).toEqual([null, 'm1']);
      expect(await store.uploads.claim([a.id], 'm3')).toEqual({ status: 'ok' });
    });

    it('of many concurrent claims of one upload, exactly one wins', async () => {
      const u = upload();
      await store.uploads.create(u);
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.uploads.claim([u.id], `m${i}`)));
      expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
      const winner = `m${results.findIndex((r) => r.status === 'ok')}`;
      expect((await store.uploads.getMany([u.id]))[0]!.holder).toBe(winner);
    });

    it('lists unclaimed uploads older than a time, oldest first, and deletes them with their claims', async () => {
      const old1 = upload({ createdAt: at(-30) });
      const old2 = upload({ createdAt: at(-26) });
      const claimed = upload({ createdAt: at(-40) });
      const fresh = upload({ createdAt: at(-1) });
      for (const u of [fresh, old2, claimed, old1]) await store.uploads.create(u);
      await store.uploads.claim([claimed.id], 'm1');
      expect((await store.uploads.listUnclaimed(at(-24), 10)).map((u) => u.id)).toEqual([old1.id, old2.id]);
      expect((await store.uploads.listUnclaimed(at(-24), 1)).map((u) => u.id)).toEqual([old1.id]);
      await store.uploads.delete([old1.id, claimed.id]);
      expect(await store.uploads.getMany([old1.id, claimed.id])).toEqual([null, null]);
      // A new upload with a deleted one's id would start unclaimed: the claim went with it.
      await store.uploads.create(claimed);
      expect((await store.uploads.getMany([claimed.id]))[0]!.holder).toBeNull();
    });

    it('keeps a message’s attachment ids, and a user’s avatar key', async () => {
      const user = await store.users.create({
        id: ids.next(),
        username: `u${ids.next()}`,
        displayName: 'U',
        passwordHash: 'h',
        createdAt: t0,
      });
      expect(user!.avatarKey).toBeNull();
      expect(await store.users.setAvatar(user!.id, 'u/x/a')).toEqual({
        user: { ...user, avatarKey: 'u/x/a' },
        previousKey: null,
      });
      expect((await store.users.setAvatar(user!.id, null))?.previousKey).toBe('u/x/a');
      expect((await store.users.getMany([user!.id]))[0]!.avatarKey).toBeNull();
      expect(await store.users.setAvatar('nobody', 'u/x/b')).toBeNull();

      const conversation = await store.conversations.createGroup({
        id: ids.next(),
        title: 'g',
        memberIds: [user!.id],
        createdAt: t0,
      });
      const base = { conversationId: conversation.id, senderId: user!.id, clientMessageId: null, createdAt: t0 };
      const { message } = await store.messages.append({
        ...base,
        id: ids.next(),
        content: '',
        attachmentIds: ['a', 'b'],
      });
      const { message: plain } = await store.messages.append({ ...base, id: ids.next(), content: 'x' });
      expect(message.attachmentIds).toEqual(['a', 'b']);
      expect(plain.attachmentIds).toEqual([]);
      expect((await store.messages.getMany([message.id]))[0]!.attachmentIds).toEqual(['a', 'b']);
    });

    if (makePair) {
      it('decides a claim across two processes: exactly one of concurrent claims wins', async () => {
        const pair = await makePair();
        try {
          const [one, two] = pair.stores;
          for (let round = 0; round < 5; round++) {
            const u = upload();
            await one.uploads.create(u);
            const results = await Promise.all([
              one.uploads.claim([u.id], 'first'),
              two.uploads.claim([u.id], 'second'),
              one.uploads.claim([u.id], 'third'),
              two.uploads.claim([u.id], 'fourth'),
            ]);
            expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
          }
        } finally {
          await pair.close();
        }
      });
    }
  });
}
