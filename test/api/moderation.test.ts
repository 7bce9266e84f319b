import { backendsAvailable } from '../helpers/backends';
import { useCluster } from '../helpers/cluster';
import { codes, gql, gqlOk, openSocket, signUp, type TestUser, uniqueName } from '../helpers/client';
import { CREATE_GROUP, EDIT, SEND } from '../helpers/operations';
import { useTestServer } from '../helpers/server';

const SIGN_UP =
  'mutation($u: String!, $p: String!) { signUp(username: $u, password: $p) { token refreshToken user { id } } }';
const LOG_IN = 'mutation($u: String!, $p: String!) { logIn(username: $u, password: $p) { token refreshToken } }';
const RENEW = 'mutation($r: String!) { renewSession(refreshToken: $r) { token } }';
const REPORT_MESSAGE =
  'mutation($m: ID!, $r: ReportReason!, $n: String) { reportMessage(messageId: $m, reason: $r, note: $n) }';
const REPORT_USER = 'mutation($u: ID!, $r: ReportReason!, $n: String) { reportUser(userId: $u, reason: $r, note: $n) }';
const SUSPEND = 'mutation($u: ID!, $r: String!) { suspendUser(userId: $u, reason: $r) }';
const REPORTS = `query($first: Int, $after: String) { reports(first: $first, after: $after) {
  edges { cursor node { id reason note createdAt reporter { id } reportedUser { id }
    message { id seq content editedAt sender { id } } } }
  pageInfo { hasNextPage hasPreviousPage endCursor } } }`;

const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms)),
  ]);

/** Signs up `username` (an operator's, named in OPERATORS before the server started). */
async function signUpAs(url: string, username: string): Promise<TestUser & { refreshToken: string }> {
  const data = (await gqlOk(url, SIGN_UP, { u: username, p: 'password-123' })).signUp;
  return { id: data.user.id, username, token: data.token, refreshToken: data.refreshToken };
}

/** Three users in a group, and a message of the second one's in it. */
async function groupWithMessage(url: string) {
  const [reporter, sender, outsider] = [await signUp(url, 'rep'), await signUp(url, 'snd'), await signUp(url, 'out')];
  const group = (await gqlOk(url, CREATE_GROUP, { t: 'g', m: [sender.id] }, reporter.token)).createGroup.id;
  const message = (await gqlOk(url, SEND, { c: group, t: 'the original words' }, sender.token)).sendMessage;
  return { reporter, sender, outsider, group, message };
}

describe('reports', () => {
  const operatorName = uniqueName('op');
  const server = useTestServer({ env: { OPERATORS: `someone_else, ${operatorName.toUpperCase()}` } });
  let operator: TestUser;
  beforeAll(async () => {
    operator = await signUpAs(server.url, operatorName);
  });

  it('a message report keeps the message as it was; only operators list reports (newest first, paged)', async () => {
    const { reporter, sender, message } = await groupWithMessage(server.url);
    const reported = await gqlOk(
      server.url,
      REPORT_MESSAGE,
      { m: message.id, r: 'HARASSMENT', n: ' rude ' },
      reporter.token,
    );
    expect(reported.reportMessage).toBe(true);
    // The sender edits the message afterwards: the report still shows what was reported.
    await gqlOk(server.url, EDIT, { m: message.id, t: 'nothing to see here' }, sender.token);
    await gqlOk(server.url, REPORT_USER, { u: sender.id, r: 'SPAM' }, reporter.token);

    for (const who of [reporter, sender]) {
      expect(codes(await gql(server.url, REPORTS, {}, who.token))).toEqual(['FORBIDDEN']);
    }
    const first = (await gqlOk(server.url, REPORTS, { first: 1 }, operator.token)).reports;
    expect(first.edges).toHaveLength(1);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    expect(first.edges[0].node).toMatchObject({
      reason: 'SPAM',
      note: null,
      message: null,
      reporter: { id: reporter.id },
      reportedUser: { id: sender.id },
    });
    const second = (await gqlOk(server.url, REPORTS, { first: 1, after: first.pageInfo.endCursor }, operator.token))
      .reports;
    expect(second.edges[0].node).toMatchObject({
      reason: 'HARASSMENT',
      note: 'rude',
      reporter: { id: reporter.id },
      reportedUser: { id: sender.id },
      message: {
        id: message.id,
        seq: message.seq,
        content: 'the original words',
        editedAt: null,
        sender: { id: sender.id },
      },
    });
    expect(second.pageInfo.hasPreviousPage).toBe(true);
    expect(codes(await gql(server.url, REPORTS, { after: 'bm90LWEtY3Vyc29y' }, operator.token))).toEqual([
      'BAD_USER_INPUT',
    ]);
  });

  it("a message of others' conversations is NOT_FOUND, as for other message operations; unknown users too", async () => {
    const { outsider, reporter, message } = await groupWithMessage(server.url);
    const res = await gql(server.url, REPORT_MESSAGE, { m: message.id, r: 'SPAM' }, outsider.token);
    expect(codes(res)).toEqual(['NOT_FOUND']);
    const missing = await gql(server.url, REPORT_MESSAGE, { m: '123456789', r: 'SPAM' }, outsider.token);
    expect(missing.errors![0]!.message).toBe(res.errors![0]!.message);
    expect(codes(await gql(server.url, REPORT_USER, { u: '42', r: 'SPAM' }, reporter.token))).toEqual(['NOT_FOUND']);
    const long = 'x'.repeat(1001);
    expect(codes(await gql(server.url, REPORT_USER, { u: outsider.id, r: 'OTHER', n: long }, reporter.token))).toEqual([
      'BAD_USER_INPUT',
    ]);
    expect(codes(await gql(server.url, REPORT_MESSAGE, { m: message.id, r: 'SPAM' }))).toEqual(['UNAUTHENTICATED']);
  });

  it('suspendUser: operators only; the account’s sockets close with 4401, logIn and renewSession answer FORBIDDEN', async () => {
    const username = uniqueName('bad');
    const bad = await signUpAs(server.url, username);
    const other = await signUp(server.url, 'other');
    expect(codes(await gql(server.url, SUSPEND, { u: bad.id, r: 'spam' }, other.token))).toEqual(['FORBIDDEN']);
    const socket = await openSocket(server.wsUrl, bad.token);
    expect((await gqlOk(server.url, SUSPEND, { u: bad.id, r: 'spam' }, operator.token)).suspendUser).toBe(true);
    expect(await within(socket.closed, 2000)).toBe(4401);
    const logIn = await gql(server.url, LOG_IN, { u: username, p: 'password-123' });
    expect(codes(logIn)).toEqual(['FORBIDDEN']);
    expect(logIn.errors![0]!.message).toBe('account suspended');
    expect(codes(await gql(server.url, RENEW, { r: bad.refreshToken }))).toEqual(['FORBIDDEN']);
    expect(codes(await gql(server.url, '{ me { id } }', {}, bad.token))).toEqual(['UNAUTHENTICATED']);
    // Nothing else is hidden: the account is still there for others.
    const seen = await gqlOk(
      server.url,
      'query($id: ID!) { user(id: $id) { id deleted } }',
      { id: bad.id },
      other.token,
    );
    expect(seen.user).toEqual({ id: bad.id, deleted: false });
    // Idempotent; counted once.
    expect((await gqlOk(server.url, SUSPEND, { u: bad.id, r: 'again' }, operator.token)).suspendUser).toBe(true);
    const metrics = await (await fetch(server.url.replace(/graphql$/, 'metrics'))).text();
    expect(metrics).toMatch(/^chat_suspensions_total 1$/m);
    expect(metrics).toMatch(/^chat_reports_total\{kind="message"\} 1$/m);
  });
});

describe('the report rate limit', () => {
  const server = useTestServer({ env: { REPORT_RATE_BURST: '2', REPORT_RATE_PER_SECOND: '0.001' } });

  it('refuses a user’s reports past REPORT_RATE_BURST with RATE_LIMITED, and stores none of them', async () => {
    const { reporter, sender, message } = await groupWithMessage(server.url);
    await gqlOk(server.url, REPORT_MESSAGE, { m: message.id, r: 'SPAM' }, reporter.token);
    await gqlOk(server.url, REPORT_USER, { u: sender.id, r: 'SPAM' }, reporter.token);
    expect(codes(await gql(server.url, REPORT_USER, { u: sender.id, r: 'SPAM' }, reporter.token))).toEqual([
      'RATE_LIMITED',
    ]);
    expect(codes(await gql(server.url, REPORT_MESSAGE, { m: message.id, r: 'SPAM' }, reporter.token))).toEqual([
      'RATE_LIMITED',
    ]);
    // Per user: another reporter still may.
    const other = await signUp(server.url, 'other');
    await gqlOk(server.url, REPORT_USER, { u: sender.id, r: 'SPAM' }, other.token);
    expect((await server.store.moderation.listReports({ first: 100 })).length).toBe(3);
  });
});

const run = backendsAvailable('the cross-process suspension suite');
(run ? describe : describe.skip)('suspension across processes (MongoDB and Redis)', () => {
  const cluster = useCluster();

  it('a suspension on one process closes the account’s sockets on another with 4401; logIn there is FORBIDDEN', async () => {
    const operatorName = uniqueName('op');
    const env = { OPERATORS: operatorName };
    const [a, b] = [await cluster.current.start(env), await cluster.current.start(env)];
    try {
      const operator = await signUpAs(a.url, operatorName);
      const username = uniqueName('bad');
      const bad = await signUpAs(b.url, username);
      const onB = await openSocket(b.wsUrl, bad.token);
      await new Promise((r) => setTimeout(r, 300)); // B follows the revocation channel
      await gqlOk(a.url, SUSPEND, { u: bad.id, r: 'spam' }, operator.token);
      expect(await within(onB.closed, 5000)).toBe(4401);
      expect(codes(await gql(b.url, LOG_IN, { u: username, p: 'password-123' }))).toEqual(['FORBIDDEN']);
      expect(codes(await gql(b.url, RENEW, { r: bad.refreshToken }))).toEqual(['FORBIDDEN']);
      expect(a.output()).toMatch(/account suspended/);
    } finally {
      for (const p of [a, b]) p.child.kill('SIGTERM');
      await Promise.all([a.exited, b.exited]);
    }
  }, 60_000);
});
