import type { PushTokenStore } from '../store';
import type { Tables } from './tables';

/** Removes a token from whoever holds it. */
function dropPushToken(t: Tables, token: string): void {
  const userId = t.pushTokens.get(token)?.record.userId;
  if (userId === undefined) return;
  t.pushTokens.delete(token);
  const theirs = t.pushTokensByUser.get(userId)!;
  theirs.delete(token);
  if (theirs.size === 0) t.pushTokensByUser.delete(userId);
}

/** Device tokens in `pushTokens`, with `pushTokensByUser` listing each owner's. */
export function createMemoryPushTokenStore(t: Tables): PushTokenStore {
  return {
    async register(record, at, maxPerUser) {
      dropPushToken(t, record.token);
      t.pushTokens.set(record.token, { record: { ...record }, at });
      let mine = t.pushTokensByUser.get(record.userId);
      if (!mine) t.pushTokensByUser.set(record.userId, (mine = new Set()));
      mine.add(record.token);
      if (mine.size <= maxPerUser) return;
      // The others, newest first, equal times by token, as the MongoDB store sorts them.
      const others = [...mine]
        .filter((token) => token !== record.token)
        .sort((x, y) => +t.pushTokens.get(y)!.at - +t.pushTokens.get(x)!.at || (x < y ? 1 : -1));
      for (const token of others.slice(Math.max(0, maxPerUser - 1))) dropPushToken(t, token);
    },
    async unregister(userId, token) {
      if (t.pushTokens.get(token)?.record.userId === userId) dropPushToken(t, token);
    },
    async unregisterAll(userId) {
      for (const token of [...(t.pushTokensByUser.get(userId) ?? [])]) dropPushToken(t, token);
    },
    async listForUsers(userIds) {
      return [...new Set(userIds)].flatMap((userId) =>
        [...(t.pushTokensByUser.get(userId) ?? [])].map((token) => ({ ...t.pushTokens.get(token)!.record })),
      );
    },
  };
}
