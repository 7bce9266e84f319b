import { randomBytes } from 'node:crypto';
import type { RotateResult, SessionRecord, Store } from '../../src/store/store';

/** Two stores on one database, as two processes have them, and how to release them. */
export interface StorePair {
  stores: [Store, Store];
  close(): Promise<void>;
}

const t0 = new Date('2026-01-01T00:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const hash = () => randomBytes(16).toString('hex');
const DAY = 24 * 3600;

/**
 * The behaviour every SessionStore must have. `makeStore` gives a fresh store
 * per test; `makePair`, where several processes can share one database, two
 * stores on one fresh database.
 */
export function describeSessionStore(
  name: string,
  makeStore: () => Promise<Store>,
  makePair?: () => Promise<StorePair>,
): void {
  describe(`Session store conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    /** A new session of `userId` (a fresh user by default) and its first token's hash. */
    async function started(s: Store = store, userId = `u${randomBytes(4).toString('hex')}`, seconds = 0) {
      const token = hash();
      const session = await s.sessions.create({
        id: `s${randomBytes(6).toString('hex')}`,
        userId,
        createdAt: at(seconds),
        deviceName: 'phone',
        refreshTokenHash: token,
        refreshExpiresAt: at(seconds + DAY),
      });
      return { session, token };
    }

    const rotate = (refreshTokenHash: string, seconds: number, s: Store = store) => {
      const next = hash();
      return s.sessions
        .rotate({ refreshTokenHash, newRefreshTokenHash: next, now: at(seconds), refreshExpiresAt: at(seconds + DAY) })
        .then((result) => ({ result, next }));
    };

    const outcome = (r: RotateResult) => r.outcome;
    const sessionOf = (r: RotateResult): SessionRecord => {
      if (r.outcome === 'unknown') throw new Error('expected a session');
      return r.session;
    };

    it('creates, gets and lists sessions, most recently used first, ended ones left out', async () => {
      const { session: a } = await started(store, 'alice', 0);
      expect(a).toEqual({
        id: a.id,
        userId: 'alice',
        createdAt: at(0),
        lastUsedAt: at(0),
        deviceName: 'phone',
        endedAt: null,
        endedBecause: null,
        refreshExpiresAt: at(DAY),
      });
      expect(await store.sessions.get(a.id)).toEqual(a);
      expect(await store.sessions.get('missing')).toBeNull();
      const { session: b } = await started(store, 'alice', 5);
      const { session: c } = await started(store, 'alice', 10);
      await started(store, 'bob', 20);
      await store.sessions.touch(a.id, at(30));
      await store.sessions.touch(a.id, at(25));
      await store.sessions.touch('missing', at(25));
      expect((await store.sessions.get(a.id))!.lastUsedAt).toEqual(at(30));
      expect((await store.sessions.listForUser('alice')).map((s) => s.id)).toEqual([a.id, c.id, b.id]);
      await store.sessions.end(c.id, at(40), 'logOut');
      expect((await store.sessions.listForUser('alice')).map((s) => s.id)).toEqual([a.id, b.id]);
      expect(await store.sessions.listForUser('nobody')).toEqual([]);
    });

    it('refuses a taken session id or token hash', async () => {
      const { session, token } = await started();
      const again = { ...session, refreshTokenHash: hash(), refreshExpiresAt: at(DAY) };
      await expect(store.sessions.create(again)).rejects.toThrow(/id/);
      await expect(store.sessions.create({ ...again, id: 'other', refreshTokenHash: token })).rejects.toThrow();
      expect(await store.sessions.get('other')).toBeNull();
    });

    it('rotates several times in a row; a spent token then ends the session, and even the newest answers ended', async () => {
      const { session, token: first } = await started();
      const spent = [first];
      let current = first;
      for (let i = 1; i <= 4; i++) {
        const { result, next } = await rotate(current, i * 10);
        expect(outcome(result)).toBe('rotated');
        expect(sessionOf(result)).toMatchObject({ lastUsedAt: at(i * 10), refreshExpiresAt: at(i * 10 + DAY) });
        current = next;
        spent.push(next);
      }
      expect(await store.sessions.get(session.id)).toMatchObject({ endedAt: null, lastUsedAt: at(40) });
      const { result } = await rotate(spent[2]!, 50);
      expect(outcome(result)).toBe('reused');
      expect(sessionOf(result)).toMatchObject({ endedAt: at(50), endedBecause: 'reuse' });
      expect(outcome((await rotate(current, 60)).result)).toBe('ended');
      expect(outcome((await rotate(spent[0]!, 60)).result)).toBe('ended');
      expect(await store.sessions.listForUser(session.userId)).toEqual([]);
    });

    it('answers expired once the refresh token has expired, and unknown for a hash it never had', async () => {
      const { session, token } = await started();
      const { result, next } = await rotate(token, 100);
      expect(outcome(result)).toBe('rotated');
      expect(outcome((await rotate(next, 100 + DAY)).result)).toBe('expired');
      expect(outcome((await rotate(next, 100 + DAY + 1)).result)).toBe('expired');
      expect(outcome((await rotate(next, 99 + DAY)).result)).toBe('rotated');
      expect(await store.sessions.get(session.id)).toMatchObject({ endedAt: null });
      expect(await rotate(hash(), 0).then((r) => r.result)).toEqual({ outcome: 'unknown' });
    });

    it('reissues a live session without its token: the old one is spent, the new one rotates', async () => {
      const { session, token } = await started(store, 'dora');
      const next = hash();
      const reissued = await store.sessions.reissue({
        sessionId: session.id,
        newRefreshTokenHash: next,
        now: at(5),
        refreshExpiresAt: at(5 + DAY),
      });
      expect(reissued).toMatchObject({
        id: session.id,
        lastUsedAt: at(5),
        refreshExpiresAt: at(5 + DAY),
        endedAt: null,
      });
      expect(outcome((await rotate(next, 6)).result)).toBe('rotated');
      expect(outcome((await rotate(token, 7)).result)).toBe('reused');
      const again = { sessionId: session.id, newRefreshTokenHash: hash(), now: at(8), refreshExpiresAt: at(DAY) };
      expect(await store.sessions.reissue(again)).toBeNull();
      expect(await store.sessions.reissue({ ...again, sessionId: 'missing' })).toBeNull();
    });

    it('reissues concurrently with rotations: every reissue and at most one rotation get a generation', async () => {
      const { session, token } = await started(store, 'erin');
      const reissue = () =>
        store.sessions.reissue({
          sessionId: session.id,
          newRefreshTokenHash: hash(),
          now: at(1),
          refreshExpiresAt: at(DAY),
        });
      const [a, b, r] = await Promise.all([reissue(), reissue(), rotate(token, 1)]);
      // The rotation came first (then both reissues follow it) or its token was spent by a reissue (reuse ends it).
      if (outcome(r.result) === 'rotated') {
        expect(a).not.toBeNull();
        expect(b).not.toBeNull();
      } else {
        expect(outcome(r.result)).toBe('reused');
      }
    });

    it('ends sessions idempotently: the first end stays', async () => {
      const { session: a, token } = await started(store, 'carol');
      const { session: b } = await started(store, 'carol');
      const ended = await store.sessions.end(a.id, at(10), 'logOut');
      expect(ended).toMatchObject({ id: a.id, endedAt: at(10), endedBecause: 'logOut' });
      expect(await store.sessions.end(a.id, at(20), 'revoked')).toEqual(ended);
      expect(await store.sessions.end('missing', at(20), 'revoked')).toBeNull();
      expect(outcome((await rotate(token, 30)).result)).toBe('ended');
      expect(await store.sessions.endAllForUser('carol', at(40), 'revoked')).toEqual([b.id]);
      expect(await store.sessions.endAllForUser('carol', at(50), 'logOut')).toEqual([]);
      expect(await store.sessions.get(b.id)).toMatchObject({ endedAt: at(40), endedBecause: 'revoked' });
      expect(await store.sessions.get(a.id)).toEqual(ended);
      expect(await store.sessions.listForUser('carol')).toEqual([]);
    });

    it.each([0, 1, 2, 5])(
      'after %i rotations, exactly the latest hash rotates; each earlier one ends it',
      async (n) => {
        const chain: string[] = [];
        for (let earlier = 0; earlier <= n; earlier++) {
          // One fresh session per probe: rotate n times, then present chain[earlier].
          const { session, token } = await started();
          const tokens = [token];
          for (let i = 1; i <= n; i++) {
            const { result, next } = await rotate(tokens[i - 1]!, i);
            expect(outcome(result)).toBe('rotated');
            tokens.push(next);
          }
          const { result } = await rotate(tokens[earlier]!, n + 1);
          expect(outcome(result)).toBe(earlier === n ? 'rotated' : 'reused');
          const after = await store.sessions.get(session.id);
          expect(after!.endedBecause).toBe(earlier === n ? null : 'reuse');
          chain.push(result.outcome);
        }
        expect(chain.filter((o) => o === 'rotated')).toHaveLength(1);
      },
    );

    /**
     * `count` concurrent rotations of one token: exactly one rotates. The
     * others presented a spent token: 'reused', or 'ended' for those that
     * come after one of them has ended the session.
     */
    async function race(stores: Store[], count: number) {
      const { session, token } = await started(stores[0]);
      const results = await Promise.all(
        Array.from({ length: count }, (_, i) => rotate(token, 1, stores[i % stores.length]).then((r) => r.result)),
      );
      const outcomes = results.map(outcome);
      expect(outcomes.filter((o) => o === 'rotated')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'reused').length).toBeGreaterThanOrEqual(1);
      expect(outcomes.filter((o) => o !== 'rotated' && o !== 'reused' && o !== 'ended')).toEqual([]);
      expect(await stores[0]!.sessions.get(session.id)).toMatchObject({ endedBecause: 'reuse' });
      return outcomes;
    }

    it('lets exactly one of two concurrent rotations of one token rotate; the other is reuse', async () => {
      expect((await race([store], 2)).sort()).toEqual(['reused', 'rotated']);
    });

    it('lets exactly one of 20 concurrent rotations of one token rotate; the others find it spent', async () => {
      await race([store], 20);
    });

    if (makePair) {
      it('lets exactly one of 20 concurrent rotations rotate across two processes on one database', async () => {
        const pair = await makePair();
        try {
          expect((await race(pair.stores, 2)).sort()).toEqual(['reused', 'rotated']);
          await race(pair.stores, 20);
        } finally {
          await pair.close();
        }
      });
    }
  });
}
