import {
  gql,
  gqlOk,
  codes,
  signUpMany,
  subscribe,
  wsClient,
  type SubscriptionQueue,
  type TestUser,
} from '../helpers/client';
import { backendsAvailable } from '../helpers/backends';
import { probeEvents, useCluster } from '../helpers/cluster';
import {
  ADD_MEMBERS,
  BLOCK,
  CONVERSATION_EVENT,
  CREATE_GROUP,
  DELETE,
  EDIT,
  HISTORY,
  MARK_READ,
  OPEN_DIRECT,
  REACT,
  SEND,
  SET_TYPING,
} from '../helpers/operations';
import type { ServerProcess } from '../helpers/process';

const run = backendsAvailable('the multi-process chat features suite');

const next = async (sub: SubscriptionQueue<any>) => (await sub.take(1, 15_000))[0].conversationEvent;

(run ? describe : describe.skip)('chat features across two server processes (FerretDB and Redis)', () => {
  const cluster = useCluster();
  let a: ServerProcess;
  let b: ServerProcess;
  beforeAll(async () => {
    [a, b] = await Promise.all([cluster.current.start(), cluster.current.start()]);
  }, 60_000);

  it('carries typing, edits, reactions, read positions and members from one process to the other', async () => {
    const [alice, bob, carol, dave] = (await signUpMany(a.url, 4, 'mp')) as TestUser[];
    const c = (await gqlOk(a.url, CREATE_GROUP, { t: 'g', m: [bob!.id, carol!.id] }, alice!.token)).createGroup.id;
    const onB = subscribe(wsClient(b.wsUrl, bob!.token), CONVERSATION_EVENT);
    const onA = subscribe(wsClient(a.wsUrl, carol!.token), CONVERSATION_EVENT, { c });
    await probeEvents(a.url, alice!, c, [onB, onA]);

    // Typing through A, the message that ends it through B.
    await gqlOk(a.url, SET_TYPING, { c, t: true }, alice!.token);
    expect(await next(onB)).toMatchObject({ __typename: 'TypingChanged', typing: true, user: { id: alice!.id } });
    const m = (await gqlOk(b.url, SEND, { c, t: 'typed' }, alice!.token)).sendMessage.id;
    expect(await next(onB)).toMatchObject({ __typename: 'TypingChanged', typing: false, user: { id: alice!.id } });
    expect(await next(onA)).toMatchObject({ typing: true });
    expect(await next(onA)).toMatchObject({ typing: false });

    // An edit through B reaches both; the history read through A shows it.
    await gqlOk(b.url, EDIT, { m, t: 'retyped' }, alice!.token);
    for (const sub of [onB, onA]) expect((await next(sub)).message).toMatchObject({ id: m, content: 'retyped' });
    expect((await gqlOk(a.url, HISTORY, { c }, bob!.token)).messages.edges.at(-1).node.content).toBe('retyped');

    // A read position moved through A reaches Bob on B.
    await gqlOk(a.url, MARK_READ, { c, m }, carol!.token);
    expect(await next(onB)).toMatchObject({
      __typename: 'ReadPositionChanged',
      position: { user: { id: carol!.id }, lastReadMessageId: m },
    });
    expect(await next(onA)).toMatchObject({ __typename: 'ReadPositionChanged' });

    // Dave joins through B: both hear it.
    await gqlOk(b.url, ADD_MEMBERS, { c, u: [dave!.id] }, alice!.token);
    for (const sub of [onB, onA]) expect(await next(sub)).toMatchObject({ joined: [{ id: dave!.id }], left: [] });

    // A block through A holds on B.
    await gqlOk(a.url, BLOCK, { u: dave!.id }, bob!.token);
    expect(codes(await gql(b.url, OPEN_DIRECT, { u: bob!.id }, dave!.token))).toEqual(['FORBIDDEN']);
    onB.dispose();
    onA.dispose();
  }, 60_000);

  it('counts reactions sent at once through both processes exactly, and settles an edit racing a delete', async () => {
    const users = (await signUpMany(a.url, 20, 'race')) as TestUser[];
    const owner = users[0]!;
    const c = (await gqlOk(a.url, CREATE_GROUP, { t: 'r', m: users.slice(1).map((u) => u.id) }, owner.token))
      .createGroup.id;
    const m = (await gqlOk(a.url, SEND, { c, t: 'vote' }, owner.token)).sendMessage.id;
    await Promise.all(users.map((u, i) => gqlOk(i % 2 ? a.url : b.url, REACT, { m, e: '👍' }, u.token)));
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => gqlOk(i % 2 ? a.url : b.url, REACT, { m, e: '🔥' }, users[1]!.token)),
    );
    const node = (await gqlOk(b.url, HISTORY, { c }, users[1]!.token)).messages.edges[0].node;
    expect(node.reactions).toEqual([
      { emoji: '👍', count: 20, reactedByViewer: true },
      { emoji: '🔥', count: 1, reactedByViewer: true },
    ]);

    for (let round = 0; round < 3; round++) {
      const target = (await gqlOk(a.url, SEND, { c, t: `r${round}` }, owner.token)).sendMessage.id;
      const [edit, del] = await Promise.all([
        gql(a.url, EDIT, { m: target, t: 'edited' }, owner.token),
        gql(b.url, DELETE, { m: target }, owner.token),
      ]);
      expect(codes(del)).toEqual([]);
      // The delete was acknowledged, and nothing edits a deleted message: it ends deleted, never a mix.
      const final = (await gqlOk(b.url, HISTORY, { c }, owner.token)).messages.edges.at(-1).node;
      expect(final).toMatchObject({ id: target, content: '', deletedAt: expect.any(String), reactions: [] });
      if (edit.errors) expect(codes(edit)).toEqual(['BAD_USER_INPUT']);
      // Applied, and answered with the state then: its own, or the delete's that followed it.
      else
        expect(edit.data!.editMessage.deletedAt === null ? edit.data!.editMessage.content : '').toMatch(/^(edited)?$/);
    }
  }, 60_000);
});
