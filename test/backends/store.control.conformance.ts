import { randomBytes } from 'node:crypto';
import type { ControlDecision, GroupControl, Store } from '../../src/store/store';
import type { StorePair } from './store.sessions.conformance';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const uid = () => `u${randomBytes(5).toString('hex')}`;

/** Removes `target` if `actor` is its owner or an admin and `target` is neither owner nor (for an admin) admin. */
const removeBy =
  (actor: string, target: string): ControlDecision =>
  ({ control, memberIds }) => {
    const actorIsOwner = control.ownerId === actor;
    if (!actorIsOwner && !control.adminIds.includes(actor)) return { refused: 'not an admin' };
    if (!memberIds.includes(target)) return { refused: 'not a member' };
    if (target === control.ownerId || (!actorIsOwner && control.adminIds.includes(target)))
      return { refused: 'may not remove them' };
    return { control: { ...control, adminIds: control.adminIds.filter((id) => id !== target) }, removeId: target };
  };

/** Makes `target` an admin, if `actor` is the owner. */
const promoteBy =
  (actor: string, target: string): ControlDecision =>
  ({ control }) =>
    control.ownerId === actor
      ? { control: { ...control, adminIds: [...control.adminIds, target] } }
      : { refused: 'no' };

/**
 * A group's control (owner, admins, add policy): every Store implementation,
 * and across two processes on one database where there is one.
 */
export function describeGroupControl(
  name: string,
  makeStore: () => Promise<Store>,
  makePair?: () => Promise<StorePair>,
): void {
  describe(`Group control conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    const group = (s: Store, memberIds: string[]) =>
      s.conversations.createGroup({ id: uid(), title: 'g', memberIds, createdAt: t0 });
    const controlOf = async (s: Store, id: string) => (await s.conversations.getControls([id]))[0];

    it('starts owned by the creator, with no admins, anyone adding; none for a direct conversation', async () => {
      const [a, b] = [uid(), uid()];
      const g = await group(store, [a, b]);
      expect(await controlOf(store, g.id)).toEqual<GroupControl>({
        version: 0,
        ownerId: a,
        adminIds: [],
        addPolicy: 'ALL_MEMBERS',
      });
      const d = await store.conversations.findOrCreateDirect({ id: uid(), userIds: [a, b], createdAt: t0 });
      expect(await store.conversations.getControls([d.id, 'missing'])).toEqual([null, null]);
      expect(await store.conversations.changeControl(d.id, promoteBy(a, b))).toEqual({ status: 'not-a-group' });
      expect(await store.conversations.changeControl('missing', promoteBy(a, b))).toEqual({ status: 'missing' });
    });

    it('reads many groups at once as it reads each: repeated, missing and direct ids included', async () => {
      const [a, b, c] = [uid(), uid(), uid()];
      const g1 = await group(store, [a, b, c]);
      const g2 = await group(store, [b, c]);
      await store.conversations.changeControl(g1.id, promoteBy(a, b));
      await store.conversations.changeControl(g1.id, removeBy(a, c));
      await store.conversations.changeControl(g2.id, promoteBy(b, c));
      const d = await store.conversations.findOrCreateDirect({ id: uid(), userIds: [a, b], createdAt: t0 });
      const ids = [g1.id, 'missing', g2.id, d.id, g1.id];
      const one = await Promise.all(ids.map((id) => controlOf(store, id)));
      expect(await store.conversations.getControls(ids)).toEqual(one);
      expect(one[0]).toMatchObject({ version: 2, ownerId: a, adminIds: [b] });
      expect(one[2]).toMatchObject({ version: 1, ownerId: b, adminIds: [c] });
    });

    it('applies a change, moves the version on, removes the member it names; a refusal changes nothing', async () => {
      const [a, b, c] = [uid(), uid(), uid()];
      const g = await group(store, [a, b, c]);
      const promoted = await store.conversations.changeControl(g.id, promoteBy(a, b));
      expect(promoted).toMatchObject({ status: 'ok', control: { version: 1, ownerId: a, adminIds: [b] } });
      expect(await store.conversations.changeControl(g.id, promoteBy(b, c))).toEqual({
        status: 'refused',
        reason: 'no',
      });
      const removed = await store.conversations.changeControl(g.id, removeBy(b, c));
      expect(removed).toMatchObject({ status: 'ok', control: { version: 2, adminIds: [b] } });
      expect(removed.status === 'ok' && removed.conversation.memberIds).toEqual([a, b]);
      expect((await store.conversations.getMany([g.id]))[0]!.memberIds).toEqual([a, b]);
      expect(await controlOf(store, g.id)).toMatchObject({ version: 2 });
    });

    it('an owner or admin who is gone holds no role: the longest-standing admin, else member, owns it', async () => {
      const [a, b, c, d] = [uid(), uid(), uid(), uid()];
      const g = await group(store, [a, b, c]);
      await store.conversations.addMembers(g.id, [d], 100);
      await store.conversations.changeControl(g.id, promoteBy(a, d));
      await store.conversations.removeMember(g.id, a);
      expect(await controlOf(store, g.id)).toMatchObject({ ownerId: d, adminIds: [] });
      await store.conversations.removeMember(g.id, d);
      expect(await controlOf(store, g.id)).toMatchObject({ ownerId: b, adminIds: [] });
    });

    const race = async (stores: Store[]) => {
      for (let round = 0; round < 5; round++) {
        const [owner, x, y] = [uid(), uid(), uid()];
        const g = await group(stores[0]!, [owner, x, y]);
        await stores[0]!.conversations.changeControl(g.id, promoteBy(owner, x));
        await stores[0]!.conversations.changeControl(g.id, promoteBy(owner, y));
        // Two admins may not remove each other; as the owner each may, but then only one of them can.
        const asOwner =
          (actor: string, target: string): ControlDecision =>
          (state) =>
            state.memberIds.includes(actor) ? removeBy(state.control.ownerId!, target)(state) : { refused: 'gone' };
        const outcomes = await Promise.all([
          stores[0]!.conversations.changeControl(g.id, asOwner(x, y)),
          stores[stores.length - 1]!.conversations.changeControl(g.id, asOwner(y, x)),
        ]);
        expect(outcomes.map((o) => o.status).sort()).toEqual(['ok', 'refused']);
        const members = (await stores[0]!.conversations.getMany([g.id]))[0]!.memberIds;
        expect(members).toHaveLength(2);
        expect(members).toContain(owner);
      }
    };

    it('of two members removing each other at once, exactly one is removed', async () => {
      await race([store]);
    });

    if (makePair) {
      it('of two processes removing each other’s member at once, exactly one wins', async () => {
        const pair = await makePair();
        try {
          await race(pair.stores);
        } finally {
          await pair.close();
        }
      });
    }
  });
}
