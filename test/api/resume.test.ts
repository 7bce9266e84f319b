import { codes, gqlOk, signUpMany, subscribe, wsClient } from '../helpers/client';
import { CREATE_GROUP, SEND } from '../helpers/operations';
import { MESSAGE_ADDED_POSITIONS, resumeAfterAbsence } from '../helpers/resume';
import { useTestServer } from '../helpers/server';

const server = useTestServer();

describe('messageAdded(positions:): resuming every conversation in one subscription', () => {
  it('replays exactly what each conversation missed, once, in seq order, while sends go on', async () => {
    const { expected, received, sentSince } = await resumeAfterAbsence({
      sendUrls: [server.url],
      device: server,
      missed: 100,
    });
    expect(sentSince).toBeGreaterThanOrEqual(40);
    for (const [conversationId, messages] of expected) {
      expect(messages.length).toBeGreaterThan(5);
      expect(received.get(conversationId)).toEqual(messages);
    }
  }, 60_000);

  it('refuses bad positions with the right code, before anything is delivered', async () => {
    const [me, other] = await signUpMany(server.url, 2, 'rsp');
    const group = async (owner: typeof me, members: (typeof me)[]) =>
      (await gqlOk(server.url, CREATE_GROUP, { t: 'g', m: members.map((m) => m!.id) }, owner!.token)).createGroup.id;
    const mine = await group(me, []);
    const notMine = await group(other, []);
    const second = await group(me, []);
    const inMine = (await gqlOk(server.url, SEND, { c: mine, t: 'a' }, me!.token)).sendMessage.id;
    const inNotMine = (await gqlOk(server.url, SEND, { c: notMine, t: 'b' }, other!.token)).sendMessage.id;
    const client = wsClient(server.wsUrl, me!.token);
    const attempt = async (query: string, variables: Record<string, unknown>) => {
      const sub = subscribe(client, query, variables);
      const errors = await sub.errors();
      sub.dispose();
      return codes({ status: 200, errors });
    };
    expect(await attempt(MESSAGE_ADDED_POSITIONS, { p: [{ conversationId: notMine, after: inNotMine }] })).toEqual([
      'FORBIDDEN',
    ]);
    expect(await attempt(MESSAGE_ADDED_POSITIONS, { p: [{ conversationId: second, after: inMine }] })).toEqual([
      'BAD_USER_INPUT',
    ]);
    const twice = [1, 2].map(() => ({ conversationId: mine, after: inMine }));
    expect(await attempt(MESSAGE_ADDED_POSITIONS, { p: twice })).toEqual(['BAD_USER_INPUT']);
    const withConversation =
      'subscription($c: ID, $p: [ConversationPosition!]) { messageAdded(conversationId: $c, positions: $p) { id } }';
    expect(await attempt(withConversation, { c: mine, p: [{ conversationId: mine, after: inMine }] })).toEqual([
      'BAD_USER_INPUT',
    ]);
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ conversationId: `${i}`, after: inMine }));
    expect(await attempt(MESSAGE_ADDED_POSITIONS, { p: tooMany })).toEqual(['BAD_USER_INPUT']);
    await client.dispose();
  });
});
