import { randomBytes } from 'node:crypto';
import { createMemoryStore } from '../../src/store/memory';
import { createMongoStore, ensureIndexes } from '../../src/store/mongo';
import type { Store } from '../../src/store/store';
import { backendsAvailable, useFerretDBClient } from '../helpers/backends';
import { gqlOk, signUp, type TestUser } from '../helpers/client';
import { OPEN_DIRECT, SEND } from '../helpers/operations';
import { startTestServer, type TestServer } from '../helpers/server';

const PAGE = `query($c: ID!, $first: Int, $after: ID, $last: Int, $before: ID) {
  messages(conversationId: $c, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id seq } }
    pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
  }
}`;

interface Page {
  edges: { cursor: string; node: { id: string; seq: number } }[];
  pageInfo: { hasPreviousPage: boolean; hasNextPage: boolean; startCursor: string | null; endCursor: string | null };
}

/**
 * Pages through a conversation of `size` messages with every page size from 1
 * to n + 5, backwards (`last`/`before`) from the newest and forwards
 * (`first`/`after`) from the start: each way must return every seq exactly
 * once, in order, with hasPreviousPage/hasNextPage true exactly when older or
 * newer messages remain.
 */
async function checkPaging(url: string, user: TestUser, conversationId: string, size: number, n: number) {
  const page = async (vars: Record<string, unknown>) =>
    (await gqlOk<{ messages: Page }>(url, PAGE, { c: conversationId, ...vars }, user.token)).messages;
  const all = Array.from({ length: size }, (_, i) => i + 1);
  for (let pageSize = 1; pageSize <= n + 5; pageSize++) {
    const what = `size ${size}, page ${pageSize}`;
    const back: number[] = [];
    for (let before: string | undefined, pages = 0; ; pages++) {
      expect(pages).toBeLessThanOrEqual(size + 1);
      const p = await page({ last: pageSize, before });
      const seqs = p.edges.map((e) => e.node.seq);
      const remaining = (back[0] ?? size + 1) - 1;
      expect({ what, count: seqs.length, hasPreviousPage: p.pageInfo.hasPreviousPage }).toEqual({
        what,
        count: Math.min(pageSize, remaining),
        hasPreviousPage: remaining > pageSize,
      });
      back.unshift(...seqs);
      if (!p.pageInfo.hasPreviousPage) break;
      before = p.pageInfo.startCursor!;
    }
    expect({ what, back }).toEqual({ what, back: all });
    const forward: number[] = [];
    for (let after: string | undefined, pages = 0; ; pages++) {
      expect(pages).toBeLessThanOrEqual(size + 1);
      const p = await page({ first: pageSize, after });
      const seqs = p.edges.map((e) => e.node.seq);
      forward.push(...seqs);
      const newest = forward.at(-1) ?? 0;
      expect({ what, hasNextPage: p.pageInfo.hasNextPage }).toEqual({ what, hasNextPage: newest < size });
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor!;
    }
    expect({ what, forward }).toEqual({ what, forward: all });
  }
}

/** Conversation sizes around the page size n, as the sweep uses them. */
const sizesAround = (n: number) => [0, 1, n - 1, n, n + 1, 2 * n - 1, 2 * n + 1];

function describePaging(name: string, n: number, makeStore: () => Promise<Store> | Store) {
  describe(`history paging (${name}): every message once, in order, at every size and page size`, () => {
    let server: TestServer;
    let user: TestUser;
    beforeAll(async () => {
      server = await startTestServer({ store: await makeStore() });
      user = await signUp(server.url, 'pager');
    });
    afterAll(async () => {
      await server?.stop();
    });

    it.each(sizesAround(n))(
      `a conversation of %i messages, page sizes 1 to ${n + 5}`,
      async (size) => {
        const other = await signUp(server.url, 'other');
        const c = (await gqlOk(server.url, OPEN_DIRECT, { u: other.id }, user.token)).openDirectConversation.id;
        for (let i = 0; i < size; i++) await gqlOk(server.url, SEND, { c, t: `m${i + 1}` }, user.token);
        await checkPaging(server.url, user, c, size, n);
      },
      120_000,
    );
  });
}

describePaging('memory store', 20, createMemoryStore);

const run = backendsAvailable('the MongoDB paging suite');
(run ? describe : describe.skip)('on FerretDB', () => {
  const mongo = useFerretDBClient();
  describePaging('MongoDB store', 5, async () => {
    const db = mongo.current.client.db(`paging_${randomBytes(4).toString('hex')}`);
    await ensureIndexes(db);
    return createMongoStore(db);
  });
});
