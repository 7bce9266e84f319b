/**
 * Issue 20, push tokens: one account registering tokens as fast and as long
 * as the server takes them ("24,000 tokens of 4,096 characters were accepted
 * in 2.9 s"). Each account keeps at most `limits.pushTokensPerUser`, each at
 * most `limits.pushTokenMax` characters, registered at most at
 * PUSH_TOKEN_RATE_BURST / PUSH_TOKEN_RATE_PER_SECOND; on the memory store and
 * on FerretDB.
 */
import { randomBytes } from 'node:crypto';
import { createMemoryStore } from '../../src/store/memory';
import { createMongoStore, ensureIndexes } from '../../src/store/mongo';
import type { Store } from '../../src/store/store';
import { backendsAvailable, useFerretDBClient } from '../helpers/backends';
import { codes, gql, signUp, type GraphQLResponse, type TestUser } from '../helpers/client';
import { startTestServer, type TestServer } from '../helpers/server';

const REGISTER = 'mutation($t: String!) { registerPushToken(token: $t, platform: ANDROID) }';
/** Tokens one account keeps, and the longest token, as the schema and README state them (FCM's are 150-250). */
const CAP = 20;
const LONGEST = 512;
/** Registrations one client keeps in flight. */
const IN_FLIGHT = 20;

/** A token of `length` characters, distinct for each `i`. */
const token = (i: number, length = LONGEST) => `${String(i).padStart(6, '0')}:${'x'.repeat(length - 7)}`;

/**
 * Sends `count` registrations, `inFlight` at a time, as a client in a hurry would; `answered` lists the
 * tokens' numbers in the order their answers came.
 */
async function flood(
  url: string,
  user: TestUser,
  count: number,
  inFlight: number,
  onEach?: () => Promise<void>,
  answered: number[] = [],
) {
  const answers: GraphQLResponse[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const i = next++;
        answers[i] = await gql(url, REGISTER, { t: token(i) }, user.token);
        answered.push(i);
        await onEach?.();
      }
    }),
  );
  const accepted = answers.filter((a) => a.data?.registerPushToken === true).length;
  const limited = answers.filter((a) => codes(a).includes('RATE_LIMITED')).length;
  return { accepted, limited, others: count - accepted - limited };
}

/**
 * `slack`: how far from the cap a store may stray while registrations of one user are in flight.
 * The memory store applies each at once; the MongoDB store writes, then evicts, so it may hold
 * one more per registration in flight until its eviction (and drop one of the newest early).
 */
function describeAttack(name: string, makeStore: () => Promise<Store> | Store, slack: number) {
  describe(`one account flooding registerPushToken (${name})`, () => {
    let limited: TestServer;
    let unlimited: TestServer;
    beforeAll(async () => {
      // The shipped defaults (an empty value is the default); the other limits out of the way.
      limited = await startTestServer({
        store: await makeStore(),
        env: { PUSH_TOKEN_RATE_BURST: '', PUSH_TOKEN_RATE_PER_SECOND: '' },
      });
      unlimited = await startTestServer({ store: await makeStore() });
    });
    afterAll(async () => {
      await limited?.stop();
      await unlimited?.stop();
    });
    const stored = async (server: TestServer, user: TestUser) =>
      (await server.store.pushTokens.listForUsers([user.id])).map((t) => t.token);

    it('refuses an overlong token with BAD_USER_INPUT naming the field and the bound, storing nothing', async () => {
      const user = await signUp(unlimited.url, 'longtoken');
      for (const length of [LONGEST + 1, 4096]) {
        const res = await gql(unlimited.url, REGISTER, { t: token(length, length) }, user.token);
        expect(res.errors?.map((e) => [e.extensions?.code, e.extensions?.field, e.message])).toEqual([
          ['BAD_USER_INPUT', 'token', `token: must be 1 to ${LONGEST} characters`],
        ]);
      }
      expect(await stored(unlimited, user)).toEqual([]);
      expect(codes(await gql(unlimited.url, REGISTER, { t: token(1) }, user.token))).toEqual([]);
    });

    it('refuses 1,000 registrations in a burst past the rate with RATE_LIMITED, storing at most the cap', async () => {
      const user = await signUp(limited.url, 'flood');
      const outcome = await flood(limited.url, user, 1000, IN_FLIGHT);
      expect(outcome).toEqual({ accepted: 10, limited: 990, others: 0 });
      expect((await stored(limited, user)).length).toBeLessThanOrEqual(CAP);
      // Another account is not held back by the first one's flood.
      const other = await signUp(limited.url, 'bystander');
      expect(codes(await gql(limited.url, REGISTER, { t: 'bystander-phone' }, other.token))).toEqual([]);
    }, 120_000);

    it(`keeps at most ${CAP} tokens per account however fast they come, the newest of them`, async () => {
      const user = await signUp(unlimited.url, 'hoard');
      let most = 0;
      let done = 0;
      const answered: number[] = [];
      const outcome = await flood(
        unlimited.url,
        user,
        1000,
        IN_FLIGHT,
        async () => {
          if (++done % 25 === 0) most = Math.max(most, (await stored(unlimited, user)).length);
        },
        answered,
      );
      expect(outcome).toEqual({ accepted: 1000, limited: 0, others: 0 });
      expect(most).toBeLessThanOrEqual(CAP + slack);
      const kept = await stored(unlimited, user);
      expect(kept.length).toBeLessThanOrEqual(CAP);
      expect(kept.length).toBeGreaterThanOrEqual(CAP - slack);
      // Each one kept was among the last registrations answered: a registration answered before the last
      // CAP + IN_FLIGHT was followed by at least CAP that started after it (a slow one, answered late, may
      // well be among the newest: the order sent is not the order the server registered them in).
      const newest = new Set(answered.slice(-(CAP + IN_FLIGHT)));
      expect(kept.filter((t) => !newest.has(Number(t.slice(0, 6))))).toEqual([]);
      // One registered after all of them is kept; registered again, it is refreshed, not doubled.
      await gql(unlimited.url, REGISTER, { t: 'last-phone' }, user.token);
      await gql(unlimited.url, REGISTER, { t: 'last-phone' }, user.token);
      const after = await stored(unlimited, user);
      expect(after).toContain('last-phone');
      expect(after.length).toBe(Math.min(CAP, kept.length + 1));
    }, 120_000);
  });
}

describeAttack('memory store', createMemoryStore, 0);

const run = backendsAvailable('the push token attack on FerretDB');
(run ? describe : describe.skip)('on FerretDB', () => {
  const mongo = useFerretDBClient();
  describeAttack(
    'MongoDB store',
    async () => {
      const db = mongo.current.client.db(`pushflood_${randomBytes(4).toString('hex')}`);
      await ensureIndexes(db);
      return createMongoStore(db, { onClose: async () => void (await db.dropDatabase()) });
    },
    IN_FLIGHT,
  );
});
