import { gqlOk, readAllMessages, signUpMany, subscribe, wsClient, type StoredMessage, type TestUser } from './client';
import { CREATE_GROUP, SEND } from './operations';

/** messageAdded resuming every conversation at once. */
export const MESSAGE_ADDED_POSITIONS =
  'subscription($p: [ConversationPosition!]) { messageAdded(positions: $p) { id conversationId seq content } }';

/** Where the scenario sends (round robin) and where the device reconnects. */
export interface ResumeScenario {
  sendUrls: string[];
  device: { url: string; wsUrl: string };
  /** Messages each listed conversation receives while the device is away. */
  missed: number;
}

/**
 * A device away while three conversations receive `missed` messages each
 * and it is added to a fourth, then back with one `positions` subscription
 * while sends go on to three of them: returns, per conversation, what it received and what
 * the store holds after its position (after the sends stopped).
 */
export async function resumeAfterAbsence({ sendUrls, device, missed }: ResumeScenario) {
  const [me, s1, s2] = await signUpMany(sendUrls[0]!, 3, 'rsm');
  const senders = [s1!, s2!];
  let turn = 0;
  const send = (conversationId: string, from: TestUser, text: string) =>
    gqlOk(sendUrls[turn++ % sendUrls.length]!, SEND, { c: conversationId, t: text }, from.token);
  const group = async (owner: TestUser, members: TestUser[]) =>
    (await gqlOk(sendUrls[0]!, CREATE_GROUP, { t: 'g', m: members.map((m) => m.id) }, owner.token)).createGroup
      .id as string;

  const listed = [await group(s1!, [me!, s2!]), await group(s1!, [me!, s2!]), await group(s2!, [me!, s1!])];
  for (const c of listed) for (let n = 1; n <= 5; n++) await send(c, senders[n % 2]!, `before ${n}`);
  // Positions: part way, fully read, and near the start.
  const history = await Promise.all(listed.map((c) => readAllMessages(device.url, me!.token, c)));
  const positions = [history[0]![2]!, history[1]![4]!, history[2]![0]!].map((m, i) => ({
    conversationId: listed[i]!,
    after: m.id,
  }));

  // Away: each listed conversation receives `missed` messages, and a new one is started with the device's user.
  await Promise.all(
    listed.map(async (c, i) => {
      for (let n = 0; n < missed; n++) await send(c, senders[(n + i) % 2]!, `missed ${n}`);
    }),
  );
  const added = await group(s2!, [me!, s1!]);
  for (let n = 0; n < 7; n++) await send(added, senders[n % 2]!, `added ${n}`);

  // Back, while the others keep sending to all but the third, whose missed messages only a replay can bring.
  let sending = true;
  let sentSince = 0;
  const loops = [listed[0]!, listed[1]!, added].map(async (c, i) => {
    for (let n = 0; sending; n++) {
      await send(c, senders[(n + i) % 2]!, `live ${n}`);
      sentSince++;
    }
  });
  await new Promise((r) => setTimeout(r, 50));
  const resumed = subscribe(wsClient(device.wsUrl, me!.token), MESSAGE_ADDED_POSITIONS, { p: positions });
  sentSince = 0;
  for (const deadline = Date.now() + 20_000; sentSince < 40 && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 50));
  }
  sending = false;
  await Promise.all(loops);

  const all = [...listed, added];
  const expected = new Map<string, StoredMessage[]>();
  for (const [i, c] of all.entries()) {
    expected.set(c, await readAllMessages(device.url, me!.token, c, positions[i]?.after));
  }
  const total = [...expected.values()].reduce((n, list) => n + list.length, 0);
  const items = (await resumed.take(total, 60_000)).map((r) => r.messageAdded);
  await resumed.expectSilence(300);
  resumed.dispose();
  const received = new Map<string, StoredMessage[]>(all.map((c) => [c, []]));
  for (const { conversationId, ...message } of items) received.get(conversationId)!.push(message);
  return { expected, received, sentSince };
}
