import { encryptionSuite } from '../helpers/encryptionSuite';
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
