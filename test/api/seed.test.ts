import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gqlOk } from '../helpers/client';
import { useTestServer } from '../helpers/server';

const SEED = join(__dirname, '..', '..', 'scripts', 'seed.mjs');

describe('npm run seed', () => {
  const server = useTestServer();
  const seed = async () =>
    (await promisify(execFile)('node', [SEED], { env: { ...process.env, SEED_URL: server.url } })).stdout;
  const exported = (out: string) =>
    Object.fromEntries([...out.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])) as Record<string, string>;

  it('creates users, friends, a group and a DM with history through the API, prints working tokens, and runs again', async () => {
    const vars = exported(await seed());
    expect(Object.keys(vars)).toEqual(
      expect.arrayContaining(['ALICE', 'BOB', 'CAROL', 'DAVE', 'ALICE_ID', 'GROUP', 'DIRECT']),
    );
    const mine = await gqlOk(
      server.url,
      '{ me { username } friends { username } conversations { edges { node { id kind title } } } }',
      {},
      vars.ALICE,
    );
    expect(mine.me.username).toBe('alice');
    expect(mine.friends).toEqual([{ username: 'bob' }]);
    expect(mine.conversations.edges.map((e: any) => e.node.id).sort()).toEqual([vars.GROUP, vars.DIRECT].sort());
    const history = await gqlOk(
      server.url,
      'query($c: ID!) { messages(conversationId: $c, last: 100) { edges { node { seq } } } }',
      { c: vars.DIRECT },
      vars.BOB,
    );
    expect(history.messages.edges).toHaveLength(30);
    const group = await gqlOk(
      server.url,
      'query($c: ID!) { messages(conversationId: $c) { edges { node { content reactions { emoji count } } } } }',
      { c: vars.GROUP },
      vars.CAROL,
    );
    expect(group.messages.edges[0].node).toEqual({
      content: 'Noon at the usual place?',
      reactions: [{ emoji: '👍', count: 1 }],
    });
    // Run again: the same users log in instead of failing.
    expect(exported(await seed()).ALICE_ID).toBe(vars.ALICE_ID);
  }, 30_000);
});
