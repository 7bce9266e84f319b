import { randomBytes } from 'node:crypto';
import type { KeyPackageRecord, Store } from '../../src/store/store';
import type { StorePair } from './store.sessions.conformance';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const uid = () => `u${randomBytes(5).toString('hex')}`;

const keyPackage = (sessionId: string, extra: Partial<KeyPackageRecord> = {}): KeyPackageRecord => ({
  ref: randomBytes(16).toString('hex'),
  userId: 'user',
  sessionId,
  keyPackage: randomBytes(8).toString('base64'),
  lastResort: false,
  notAfter: at(86_400),
  createdAt: t0,
  claimedAt: null,
  ...extra,
});

/**
 * Encrypted conversations' MLS groups, their commits (one per epoch) and the
 * KeyPackage directory: every Store implementation, and across two processes
 * on one database where there is one.
 */
export function describeMlsStore(
  name: string,
  makeStore: () => Promise<Store>,
  makePair?: () => Promise<StorePair>,
): void {
  describe(`MLS store conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    const encrypted = async (s: Store, memberIds: string[]) => {
      const c = await s.conversations.createGroup({
        id: uid(),
        title: null,
        memberIds,
        createdAt: t0,
        kind: 'ENCRYPTED',
      });
      await s.mls.createGroup({ conversationId: c.id, groupId: 'Z3JvdXA=', epoch: 0, leaves: [`${memberIds[0]}:s`] });
      return c;
    };
    const commit = (conversationId: string, epoch: number, message: string) => ({
      id: uid(),
      conversationId,
      senderId: 'a',
      content: '',
      clientMessageId: null,
      createdAt: t0,
      mls: {
        kind: 'COMMIT' as const,
        epoch,
        message,
        welcome: null,
        change: { leaves: ['a:s'], addedUserIds: [], removedUserIds: [] },
      },
    });

    it('keeps a group, moves its epoch on by compare and set, and stores one commit per epoch', async () => {
      const c = await encrypted(store, ['a']);
      expect(c.kind).toBe('ENCRYPTED');
      // Untitled, as read back too.
      expect((await store.conversations.getMany([c.id]))[0]).toMatchObject({ kind: 'ENCRYPTED', title: null });
      expect(await store.mls.getGroups([c.id, 'missing'])).toEqual([
        { conversationId: c.id, groupId: 'Z3JvdXA=', epoch: 0, leaves: ['a:s'] },
        null,
      ]);
      const first = await store.messages.append(commit(c.id, 0, 'one'));
      const second = await store.messages.append(commit(c.id, 0, 'two'));
      expect(first.created).toBe(true);
      expect(second).toEqual({ message: first.message, created: false });
      expect((await store.messages.findCommit(c.id, 0))?.mls?.message).toBe('one');
      expect(await store.messages.findCommit(c.id, 1)).toBeNull();
      expect(await store.mls.advance(c.id, 0, ['a:s', 'b:t'])).toBe(true);
      expect(await store.mls.advance(c.id, 0, ['a:s'])).toBe(false);
      expect((await store.mls.getGroups([c.id]))[0]).toMatchObject({ epoch: 1, leaves: ['a:s', 'b:t'] });
      // Other MLS messages are appended as any message, with their payload.
      const app = await store.messages.append({
        ...commit(c.id, 1, 'app'),
        mls: { kind: 'APPLICATION', epoch: 1, message: 'app', welcome: null, change: null },
      });
      expect((await store.messages.getMany([app.message.id]))[0]?.mls).toEqual(app.message.mls);
    });

    it('members added with joinedAfterSeq start their delivery there', async () => {
      const c = await encrypted(store, ['a']);
      const stored = await store.messages.append(commit(c.id, 0, 'adds b'));
      const added = await store.conversations.addMembers(c.id, ['b'], 100, stored.message.seq - 1);
      expect(added.status).toBe('ok');
      const [membership] = await store.conversations.getMemberships([{ conversationId: c.id, userId: 'b' }]);
      expect(membership?.joinedSeq).toBe(stored.message.seq - 1);
    });

    it("hands each KeyPackage out once, oldest first, then the last-resort one; caps the unclaimed; deletes a session's", async () => {
      const kps = [keyPackage('s1', { createdAt: at(1) }), keyPackage('s1', { createdAt: at(2) })];
      const lastResort = keyPackage('s1', { lastResort: true });
      expect(await store.mls.addKeyPackages([...kps, lastResort], 2, t0)).toEqual({ status: 'ok', unclaimed: 2 });
      expect(await store.mls.addKeyPackages([keyPackage('s1')], 2, t0)).toEqual({ status: 'too-many' });
      expect(await store.mls.countUnclaimed('s1', at(10))).toBe(2);
      expect((await store.mls.claimKeyPackage('s1', at(10)))?.ref).toBe(kps[0]!.ref);
      expect((await store.mls.claimKeyPackage('s1', at(10)))?.ref).toBe(kps[1]!.ref);
      expect((await store.mls.claimKeyPackage('s1', at(10)))?.ref).toBe(lastResort.ref);
      expect((await store.mls.claimKeyPackage('s1', at(10)))?.ref).toBe(lastResort.ref);
      expect((await store.mls.getKeyPackage(kps[0]!.ref))?.claimedAt).toEqual(at(10));
      expect(await store.mls.countUnclaimed('s1', at(10))).toBe(0);
      // A new last-resort one replaces the old.
      const next = keyPackage('s1', { lastResort: true });
      await store.mls.addKeyPackages([next], 2, t0);
      expect(await store.mls.getKeyPackage(lastResort.ref)).toBeNull();
      // Expired ones are not handed out.
      await store.mls.addKeyPackages([keyPackage('s2', { notAfter: at(5) })], 2, t0);
      expect(await store.mls.claimKeyPackage('s2', at(10))).toBeNull();
      await store.mls.deleteForSessions(['s1', 's2']);
      expect(await store.mls.claimKeyPackage('s1', at(10))).toBeNull();
      expect(await store.mls.getKeyPackage(kps[0]!.ref)).toBeNull();
    });

    it('concurrent claims hand each KeyPackage to one of them', async () => {
      await store.mls.addKeyPackages(
        Array.from({ length: 5 }, () => keyPackage('s3')),
        100,
        t0,
      );
      const claims = await Promise.all(Array.from({ length: 20 }, () => store.mls.claimKeyPackage('s3', at(10))));
      const refs = claims.filter((k) => k !== null).map((k) => k.ref);
      expect(refs).toHaveLength(5);
      expect(new Set(refs).size).toBe(5);
    });

    if (makePair) {
      it('two processes: one commit per epoch, each KeyPackage claimed once', async () => {
        const pair = await makePair();
        try {
          const [s1, s2] = pair.stores;
          const c = await encrypted(s1, ['a']);
          const [x, y] = await Promise.all([
            s1.messages.append(commit(c.id, 0, 'x')),
            s2.messages.append(commit(c.id, 0, 'y')),
          ]);
          expect([x.created, y.created].sort()).toEqual([false, true]);
          expect(x.message.id).toBe(y.message.id);
          await s1.mls.addKeyPackages(
            Array.from({ length: 6 }, () => keyPackage('s4')),
            100,
            t0,
          );
          const claims = await Promise.all(
            Array.from({ length: 30 }, (_, i) => (i % 2 ? s1 : s2).mls.claimKeyPackage('s4', at(10))),
          );
          const refs = claims.filter((k) => k !== null).map((k) => k.ref);
          expect(refs).toHaveLength(6);
          expect(new Set(refs).size).toBe(6);
        } finally {
          await pair.close();
        }
      });
    }
  });
}
