import { idInUse, type NewUser, type UserRecord, type UserStore } from '../store';
import type { Tables } from './tables';

const copyUser = (u: UserRecord): UserRecord => ({ ...u });

/** Accounts in `users`, with `userIdByName` keeping usernames unique. */
export function createMemoryUserStore(t: Tables): UserStore {
  return {
    async create(input: NewUser) {
      if (t.userIdByName.has(input.username)) return null;
      if (t.users.has(input.id)) throw idInUse('user', input.id);
      const user: UserRecord = {
        id: input.id,
        username: input.username,
        displayName: input.displayName,
        createdAt: input.createdAt,
        deletedAt: null,
        avatarKey: null,
      };
      t.users.set(user.id, { user, passwordHash: input.passwordHash });
      t.userIdByName.set(user.username, user.id);
      return copyUser(user);
    },
    async getMany(ids) {
      return ids.map((id) => {
        const entry = t.users.get(id);
        return entry ? copyUser(entry.user) : null;
      });
    },
    async findCredentials(username) {
      const id = t.userIdByName.get(username);
      const entry = id === undefined ? undefined : t.users.get(id);
      return entry ? { user: copyUser(entry.user), passwordHash: entry.passwordHash } : null;
    },
    async setDisplayName(id, displayName) {
      const entry = t.users.get(id);
      if (!entry) return null;
      entry.user.displayName = displayName;
      return copyUser(entry.user);
    },
    async markDeleted(id, at, displayName) {
      const entry = t.users.get(id);
      if (!entry) return null;
      entry.user.deletedAt ??= at;
      entry.user.displayName = displayName;
      return copyUser(entry.user);
    },
    async setAvatar(id, avatarKey) {
      const entry = t.users.get(id);
      if (!entry) return null;
      const previousKey = entry.user.avatarKey;
      entry.user.avatarKey = avatarKey;
      return { user: copyUser(entry.user), previousKey };
    },
    async searchByPrefix(prefix, limit) {
      const found: UserRecord[] = [];
      for (const [username, id] of t.userIdByName) {
        if (username.startsWith(prefix)) found.push(t.users.get(id)!.user);
      }
      found.sort((a, b) => (a.username < b.username ? -1 : 1));
      return found.slice(0, limit).map(copyUser);
    },
  };
}
