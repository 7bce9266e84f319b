import { createByteBudget } from '../../src/lib/byteBudget';
import type { PubSub, PubSubOptions } from '../../src/pubsub/pubsub';
import type { MessageEvent } from '../../src/pubsub/topics';
import { SubscriberOverflowError } from '../../src/pubsub/pubsub';

/**
 * The behaviour every PubSub implementation must have. Each backend's test
 * file calls `describePubSub` with a factory; every test gets fresh instances.
 * `makePubSub` may be called several times in a test: instances made by one
 * test share a backend, as separate server processes would.
 */
export function describePubSub(
  name: string,
  makePubSub: (options?: PubSubOptions) => Promise<PubSub>,
  { crossInstance = false }: { crossInstance?: boolean } = {},
): void {
  describe(`PubSub conformance: ${name}`, () => {
    const made: PubSub[] = [];
    const make = async (options?: PubSubOptions) => {
      const p = await makePubSub(options);
      made.push(p);
      return p;
    };
    afterEach(async () => {
      await Promise.all(made.splice(0).map((p) => p.close()));
    });

    let n = 0;
    const event = (seq: number, userKey = 'x'): MessageEvent => ({
      id: `${++n}`,
      conversationId: `c-${userKey}`,
      seq,
      senderId: 's',
      content: `m${seq} ✓ 😀`,
      clientMessageId: null,
      createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
      editedAt: null,
      deletedAt: null,
      reactions: [],
    });
    const unique = () => `k${Date.now()}${Math.random().toString(36).slice(2)}`;
    const within = async <T>(promise: Promise<T>, ms = 2000): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${ms}ms`)), ms);
      });
      try {
        return await Promise.race([promise, timeout]);
      } finally {
        clearTimeout(timer);
      }
    };

    it('delivers what is published after subscribe resolves, in order, as equal copies', async () => {
      const pubsub = await make();
      const key = unique();
      const sub = await pubsub.subscribe('messageAdded', key);
      const sent = Array.from({ length: 50 }, (_, i) => event(i + 1));
      for (const e of sent) await pubsub.publish('messageAdded', key, e);
      const got = [];
      for (let i = 0; i < 50; i++) got.push((await within(sub.next())).value);
      expect(got).toEqual(sent);
      expect(got[0]).not.toBe(sent[0]);
      await sub.return();
    });

    it('keeps channels apart by topic and key, and serves several keys in one subscription', async () => {
      const pubsub = await make();
      const [k1, k2, k3] = [unique(), unique(), unique()];
      const both = await pubsub.subscribe('messageAdded', [k1, k2]);
      const third = await pubsub.subscribe('messageAdded', k3);
      await pubsub.publish('presenceChanged', k1, { userId: 'u', status: 'ONLINE', lastActiveAt: null });
      await pubsub.publish('messageAdded', k3, event(3));
      await pubsub.publish('messageAdded', k1, event(1));
      await pubsub.publish('messageAdded', k2, event(2));
      expect((await within(both.next())).value.seq).toBe(1);
      expect((await within(both.next())).value.seq).toBe(2);
      expect((await within(third.next())).value.seq).toBe(3);
      await both.return();
      await third.return();
    });

    it('delivers to every subscriber of a channel', async () => {
      const pubsub = await make();
      const key = unique();
      const subs = await Promise.all([1, 2, 3].map(() => pubsub.subscribe('messageAdded', key)));
      await pubsub.publish('messageAdded', key, event(1));
      for (const sub of subs) expect((await within(sub.next())).value.seq).toBe(1);
      await Promise.all(subs.map((s) => s.return()));
    });

    it('publishes one event on many channels as one publish per channel would, in order with the rest', async () => {
      const pubsub = await make();
      const keys = Array.from({ length: 5 }, unique);
      const each = await Promise.all(keys.map((k) => pubsub.subscribe('messageAdded', k)));
      const twoOfThem = await pubsub.subscribe('messageAdded', [keys[1]!, keys[3]!]);
      await pubsub.publish('messageAdded', [], event(0));
      await pubsub.publish('messageAdded', [...keys, unique()], event(1));
      await pubsub.publish('messageAdded', keys[1]!, event(2));
      await pubsub.publish('messageAdded', [keys[1]!], event(3));
      for (const [i, sub] of each.entries()) {
        const expected = i === 1 ? [1, 2, 3] : [1];
        for (const seq of expected)
          expect((await within(sub.next())).value).toMatchObject({ seq, content: 'm1 ✓ 😀'.replace('1', String(seq)) });
      }
      const seen = [];
      for (let i = 0; i < 4; i++) seen.push((await within(twoOfThem.next())).value.seq);
      expect(seen).toEqual([1, 1, 2, 3]);
      await Promise.all([...each, twoOfThem].map((s) => s.return()));
    });

    it('publishes to a channel nobody listens to without error', async () => {
      const pubsub = await make();
      await expect(pubsub.publish('messageAdded', unique(), event(1))).resolves.toBeUndefined();
    });

    it('ends a pending next() at once when the subscription is returned, and delivers nothing after', async () => {
      const pubsub = await make();
      const key = unique();
      const sub = await pubsub.subscribe('messageAdded', key);
      const pending = sub.next();
      await sub.return();
      expect(await within(pending)).toEqual({ value: undefined, done: true });
      await pubsub.publish('messageAdded', key, event(1));
      expect(await within(sub.next())).toEqual({ value: undefined, done: true });
    });

    it('ends every subscription on close()', async () => {
      const pubsub = await makePubSub();
      const sub = await pubsub.subscribe('messageAdded', unique());
      const pending = sub.next();
      await pubsub.close();
      expect(await within(pending)).toEqual({ value: undefined, done: true });
    });

    it('fails a subscription whose consumer falls more than maxQueue behind, instead of growing', async () => {
      const pubsub = await make({ maxQueue: 10 });
      const [key, probeKey] = [unique(), unique()];
      const sub = await pubsub.subscribe('messageAdded', key);
      const probe = await pubsub.subscribe('messageAdded', probeKey);
      for (let i = 1; i <= 11; i++) await pubsub.publish('messageAdded', key, event(i));
      // Published after the 11 on the same connections: once it arrives, so have they.
      await pubsub.publish('messageAdded', probeKey, event(99));
      expect((await within(probe.next())).value).toMatchObject({ seq: 99 });
      await expect(within(sub.next())).rejects.toBeInstanceOf(SubscriberOverflowError);
      expect(await within(sub.next())).toEqual({ value: undefined, done: true });
      await probe.return();
    });

    it('charges queued events to a byte budget by their size on the wire, and drops them once it is spent', async () => {
      const pubsub = await make();
      const [key, probeKey] = [unique(), unique()];
      const size = JSON.stringify(event(1)).length;
      const exceeded: number[] = [];
      // Room for three queued events, not four.
      const budget = createByteBudget({ maxBytes: 3 * size + size / 2, onExceeded: (held) => exceeded.push(held) });
      const sub = await pubsub.subscribe('messageAdded', key, { budget });
      const probe = await pubsub.subscribe('messageAdded', probeKey);
      for (let i = 1; i <= 6; i++) await pubsub.publish('messageAdded', key, event(i));
      await pubsub.publish('messageAdded', probeKey, event(99));
      expect((await within(probe.next())).value).toMatchObject({ seq: 99 });
      expect({ spent: budget.spent, calls: exceeded.length }).toEqual({ spent: true, calls: 1 });
      const got = [];
      for (let i = 0; i < 3; i++) got.push((await within(sub.next())).value.seq);
      expect(got).toEqual([1, 2, 3]);
      await expect(within(sub.next(), 200)).rejects.toThrow();
      await sub.return();
      await probe.return();
    });

    it('gives a budget back what it held when events are taken or the subscription ends', async () => {
      const pubsub = await make();
      const key = unique();
      const size = JSON.stringify(event(1)).length;
      const budget = createByteBudget({ maxBytes: 2 * size + size / 2, onExceeded: () => undefined });
      const sub = await pubsub.subscribe('messageAdded', key, { budget });
      for (let round = 0; round < 5; round++) {
        await pubsub.publish('messageAdded', key, event(2 * round + 1));
        await pubsub.publish('messageAdded', key, event(2 * round + 2));
        expect((await within(sub.next())).value.seq).toBe(2 * round + 1);
        expect((await within(sub.next())).value.seq).toBe(2 * round + 2);
      }
      expect(budget.spent).toBe(false);
      await pubsub.publish('messageAdded', key, event(11));
      await pubsub.publish('messageAdded', key, event(12));
      await new Promise((r) => setTimeout(r, 100));
      await sub.return();
      // What the ended subscription held is free again: two more fit.
      expect([budget.take(size), budget.take(size)]).toEqual([true, true]);
    });

    it('stays correct through 1,000 subscribe/unsubscribe cycles', async () => {
      const pubsub = await make();
      const key = unique();
      for (let i = 0; i < 1000; i++) await (await pubsub.subscribe('messageAdded', [key, `${key}-${i % 7}`])).return();
      const sub = await pubsub.subscribe('messageAdded', key);
      await pubsub.publish('messageAdded', key, event(1));
      expect((await within(sub.next())).value.seq).toBe(1);
      await sub.return();
    });

    (crossInstance ? it : it.skip)('delivers between instances sharing a backend', async () => {
      const [a, b] = [await make(), await make()];
      const key = unique();
      const sub = await b.subscribe('messageAdded', key);
      await a.publish('messageAdded', key, event(1));
      expect((await within(sub.next())).value.seq).toBe(1);
      await sub.return();
    });
  });
}
