import { gqlOk } from '../helpers/client';
import { encryptionSuite } from '../helpers/encryptionSuite';
import { CREATE_ENCRYPTED, userWithDevices } from '../helpers/mlsDevices';
import { useTestServer } from '../helpers/server';

describe('end-to-end encrypted conversations with real MLS clients, on the embedded default', () => {
  const server = useTestServer();
  encryptionSuite({
    endpoints: () => [{ url: server.url, wsUrl: server.wsUrl }],
    // Every stored message of every conversation the test created, as the store returns it.
    findInStore: async (needles) => {
      const users = [...new Set((await server.store.users.searchByPrefix('', 1000)).map((u) => u.id))];
      const conversations = (
        await Promise.all(users.map((id) => server.store.conversations.listAllForUser(id)))
      ).flat();
      const stored = await Promise.all(
        conversations.map((c) => server.store.messages.page(c.id, { limit: 10_000, from: 'oldest' })),
      );
      const text = JSON.stringify([conversations, stored]);
      return needles.filter((n) => text.includes(n));
    },
  });
});

describe('a commit stored by a process that stopped before applying it', () => {
  const server = useTestServer();

  it('is finished by the next reader of the group: its epoch taken, its members added, delivered', async () => {
    const endpoint = [{ url: server.url, wsUrl: server.wsUrl }];
    const [[a], [b]] = await Promise.all([userWithDevices(endpoint, 1, 'stop'), userWithDevices(endpoint, 1, 'late')]);
    const groupId = await a!.mls.createGroup();
    const { id } = (await gqlOk(server.url, CREATE_ENCRYPTED, { g: groupId, t: null }, a!.token))
      .createEncryptedConversation;
    b!.listen();
    // A's commit adding B, stored as sendMlsMessage stores it, and nothing after (the process stopped).
    const pending = await a!.mls.commit({ add: await a!.claim([b!.user.id]) });
    await server.store.messages.append({
      id: '900000000000000001',
      conversationId: id,
      senderId: a!.user.id,
      content: '',
      clientMessageId: null,
      createdAt: new Date(),
      mls: {
        kind: 'COMMIT',
        epoch: 0,
        message: pending.commit,
        welcome: pending.welcome,
        change: { leaves: [a!.identity, b!.identity], addedUserIds: [b!.user.id], removedUserIds: [] },
      },
    });
    pending.apply();
    // A's next commit is for epoch 1: accepted only once the stored commit is finished (else "epoch ahead").
    const next = await a!.commit(id);
    expect(next.errors).toBeUndefined();
    const text = await a!.sendText(id, 'after the stop');
    expect(text.mls.epoch).toBe(2);
    const conversation = (
      await gqlOk(
        server.url,
        'query($c: ID!) { conversation(id: $c) { title epoch members { id } } }',
        { c: id },
        a!.token,
      )
    ).conversation;
    expect(conversation.epoch).toBe(2);
    // Created without a title, read back without one.
    expect(conversation.title).toBeNull();
    expect(conversation.members.map((m: { id: string }) => m.id).sort()).toEqual([a!.user.id, b!.user.id].sort());
    // B joins from the stored commit's Welcome and reads what follows.
    while (b!.lastSeq < text.seq) await b!.take(1);
    expect(b!.mls.joined).toBe(true);
    expect(b!.texts).toEqual(['after the stop']);
    await b!.close();
  });
});
