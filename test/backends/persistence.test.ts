import { codes, gql, gqlOk, signUpMany } from '../helpers/client';
import { backendsAvailable } from '../helpers/backends';
import { useCluster } from '../helpers/cluster';
import { ADD_FRIEND, MARK_READ, SEND } from '../helpers/operations';

const run = backendsAvailable('the persistence and MongoDB fault suite');

const LOG_IN = 'mutation($u: String!) { logIn(username: $u, password: "password-123") { token user { id } } }';
const VIEW = `query($c: ID!) {
  conversation(id: $c) { id title members { username } unreadCount lastReadMessageId lastMessage { content } }
  messages(conversationId: $c, last: 100) { edges { node { id seq content sender { username } } } }
  friends { username }
}`;

(run ? describe : describe.skip)('MongoDB persistence and faults', () => {
  const holder = useCluster();

  it('keeps users, friends, conversations, history and read positions when every process restarts', async () => {
    const [a1, b1] = [await holder.current.start(), await holder.current.start()];
    const [alice, bob] = await signUpMany(a1.url, 2, 'persist');
    await gqlOk(a1.url, ADD_FRIEND, { u: bob!.id }, alice!.token);
    await gqlOk(b1.url, ADD_FRIEND, { u: alice!.id }, bob!.token);
    const group = await gqlOk(
      a1.url,
      'mutation($m: [ID!]!) { createGroup(title: "kept", memberIds: $m) { id } }',
      { m: [bob!.id] },
      alice!.token,
    );
    const c = group.createGroup.id;
    const sent = [];
    for (let i = 0; i < 5; i++)
      sent.push(
        (await gqlOk(i % 2 ? b1.url : a1.url, SEND, { c, t: `m${i}` }, (i % 2 ? bob : alice)!.token)).sendMessage,
      );
    await gqlOk(a1.url, MARK_READ, { c, m: sent[2].id }, alice!.token);
    const before = await gqlOk(a1.url, VIEW, { c }, alice!.token);

    a1.child.kill('SIGTERM');
    b1.child.kill('SIGTERM');
    expect([await a1.exited, await b1.exited]).toEqual([0, 0]);

    const a2 = await holder.current.start();
    const token = (await gqlOk(a2.url, LOG_IN, { u: alice!.username })).logIn.token;
    const after = await gqlOk(a2.url, VIEW, { c }, token);
    expect(after).toEqual(before);
    expect(after.conversation).toMatchObject({ title: 'kept', unreadCount: 1, lastReadMessageId: sent[2].id });
    expect(after.friends).toEqual([{ username: bob!.username }]);
    // Tokens issued before the restart still work (same JWT_SECRET), and seq continues.
    expect((await gqlOk(a2.url, SEND, { c, t: 'after restart' }, bob!.token)).sendMessage.seq).toBe(6);
    a2.child.kill('SIGTERM');
    await a2.exited;
  }, 60_000);

  it('answers sendMessage with an error, never a success, while MongoDB is down; stays up and recovers', async () => {
    const server = await holder.current.start();
    const [alice, bob] = await signUpMany(server.url, 2, 'fault');
    const c = (
      await gqlOk(
        server.url,
        'mutation($m: [ID!]!) { createGroup(title: "f", memberIds: $m) { id } }',
        { m: [bob!.id] },
        alice!.token,
      )
    ).createGroup.id;
    await gqlOk(server.url, SEND, { c, t: 'before' }, alice!.token);

    await holder.current.mongo.stop();
    const started = Date.now();
    const down = await gql(server.url, SEND, { c, t: 'while down' }, alice!.token);
    expect(down.data?.sendMessage ?? null).toBeNull();
    expect(codes(down)).toEqual(['UNAVAILABLE']);
    expect(down.errors![0]!.message).toMatch(/temporarily unavailable/);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(server.child.exitCode).toBeNull();

    await holder.current.mongo.start();
    let recovered = null;
    for (const deadline = Date.now() + 30_000; !recovered && Date.now() < deadline; ) {
      const res = await gql(server.url, SEND, { c, t: 'after' }, alice!.token);
      recovered = res.data?.sendMessage ?? null;
      if (!recovered) await new Promise((r) => setTimeout(r, 250));
    }
    expect(recovered).toMatchObject({ seq: 2 });
    const history = await gqlOk(
      server.url,
      'query($c: ID!) { messages(conversationId: $c) { edges { node { content } } } }',
      { c },
      bob!.token,
    );
    expect(history.messages.edges.map((e: any) => e.node.content)).toEqual(['before', 'after']);
    server.child.kill('SIGTERM');
    await server.exited;
  }, 90_000);
});
