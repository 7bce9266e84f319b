import { gql, signUp, subscribe, wsClient, type TestUser } from '../helpers/client';
import { useTestServer } from '../helpers/server';
import { withoutSuggestions } from '../../src/server/suggestions';

/**
 * Issue 20: with introspection off, "Did you mean ...?" still named the
 * schema's fields. The client maps the schema by typos, on both transports.
 */
const production = useTestServer({ env: { NODE_ENV: 'production' } });
const development = useTestServer();

const TYPOS = {
  field: '{ mee { id } }',
  argument: '{ searchUsers(prefix: "a", firs: 3) { id } }',
  // Coerced after validation: Apollo's own option does not reach these.
  enumValue: ['mutation($p: PushPlatform!) { registerPushToken(token: "t", platform: $p) }', { p: 'ANDROIDD' }],
} as const;

const messagesOf = (res: { errors?: { message: string }[] }) => (res.errors ?? []).map((e) => e.message);

describe('a client guessing at the schema by typos', () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await signUp(production.url, 'typo');
  });

  it('is told over HTTP that a field, argument or enum value is unknown, but not what exists, with introspection off', async () => {
    for (const typo of Object.values(TYPOS)) {
      const [query, variables] = typeof typo === 'string' ? [typo, {}] : typo;
      const res = await gql(production.url, query, variables, user.token);
      expect(messagesOf(res).length).toBeGreaterThan(0);
      for (const message of messagesOf(res)) {
        expect(message).not.toMatch(/Did you mean/);
        expect(message).not.toMatch(/"me"|"first"|"ANDROID"/);
      }
    }
    expect(messagesOf(await gql(production.url, TYPOS.field, {}, user.token))).toEqual([
      'Cannot query field "mee" on type "Query".',
    ]);
  });

  it('is told the same over graphql-ws', async () => {
    const client = wsClient(production.wsUrl, user.token);
    const typos = [
      subscribe(client, 'subscription { messageAdde { id } }'),
      subscribe(client, 'subscription($p: [ConversationPosition!]) { messageAdded(positions: $p) { id } }', {
        p: [{ conversationId: '1', after: '1', aftr: '2' }],
      }),
    ];
    for (const typo of typos) {
      const messages = (await typo.errors()).map((e) => e.message);
      expect(messages.length).toBeGreaterThan(0);
      for (const message of messages) expect(message).not.toMatch(/Did you mean|"messageAdded"|"after"/);
    }
    await client.dispose();
  });

  it('still gets the suggestions in development, where introspection is on', async () => {
    const dev = await signUp(development.url, 'typo');
    expect(messagesOf(await gql(development.url, TYPOS.field, {}, dev.token))).toEqual([
      'Cannot query field "mee" on type "Query". Did you mean "me"?',
    ]);
  });
});

describe('withoutSuggestions', () => {
  it("strips graphql-js's closing suggestion in each of its forms, and nothing else", () => {
    expect(withoutSuggestions('Cannot query field "mee" on type "Query". Did you mean "me"?')).toBe(
      'Cannot query field "mee" on type "Query".',
    );
    expect(withoutSuggestions('Unknown type "Usr". Did you mean "User", "Users", or "UserInput"?')).toBe(
      'Unknown type "Usr".',
    );
    expect(
      withoutSuggestions(
        'Value "ANDROIDD" does not exist in "PushPlatform" enum. Did you mean the enum value "ANDROID"?',
      ),
    ).toBe('Value "ANDROIDD" does not exist in "PushPlatform" enum.');
    expect(
      withoutSuggestions('Cannot query field "x" on type "Node". Did you mean to use an inline fragment on "User"?'),
    ).toBe('Cannot query field "x" on type "Node".');
    expect(withoutSuggestions('Syntax Error: Expected Name, found "}".')).toBe(
      'Syntax Error: Expected Name, found "}".',
    );
  });
});
