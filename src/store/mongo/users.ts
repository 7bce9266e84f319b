import { idInUse, type UserRecord, type UserStore } from '../store';
import { byIds, duplicateOn, isDuplicateKey, type Collections, type UserDoc } from './documents';

function toUser({ _id, passwordHash: _hash, ...fields }: UserDoc): UserRecord {
  return { id: _id, ...fields, deletedAt: fields.deletedAt ?? null, avatarKey: fields.avatarKey ?? null };
}

/** Accounts in the `users` collection; usernames are unique by index. */
export function createUserStore(c: Collections): UserStore {
  return {
    async create(input) {
      const { id, ...fields } = input;
      const doc: UserDoc = { _id: id, ...fields };
      try {
        await c.users.insertOne(doc);
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        const usernameTaken =
          duplicateOn(error, 'username') ??
          (await c.users.countDocuments({ username: doc.username }, { limit: 1 })) > 0;
        if (usernameTaken) return null;
        throw idInUse('user', id);
      }
      return toUser(doc);
    },
    getMany: (ids) => byIds(c.users, ids, toUser),
    async findCredentials(username) {
      const doc = await c.users.findOne({ username });
      return doc ? { user: toUser(doc), passwordHash: doc.passwordHash } : null;
    },
    async setDisplayName(id, displayName) {
      const doc = await c.users.findOneAndUpdate({ _id: id }, { $set: { displayName } }, { returnDocument: 'after' });
      return doc ? toUser(doc) : null;
    },
    async markDeleted(id, at, displayName) {
      // Two steps, each idempotent: the first deletion time stays.
      await c.users.updateOne({ _id: id, deletedAt: null }, { $set: { deletedAt: at } });
      const doc = await c.users.findOneAndUpdate({ _id: id }, { $set: { displayName } }, { returnDocument: 'after' });
      return doc ? toUser(doc) : null;
    },
    async setAvatar(id, avatarKey) {
      const change = avatarKey === null ? { $unset: { avatarKey: '' as const } } : { $set: { avatarKey } };
      const before = await c.users.findOneAndUpdate({ _id: id }, change, { returnDocument: 'before' });
      if (!before) return null;
      return { user: { ...toUser(before), avatarKey }, previousKey: before.avatarKey ?? null };
    },
    async searchByPrefix(prefix, limit) {
      if (limit <= 0) return [];
      // A range on the username index: every username character sorts below '{'.
      const docs = await c.users
        .find({ username: { $gte: prefix, $lt: `${prefix}{` } })
        .sort({ username: 1 })
        .limit(limit)
        .toArray();
      return docs.map(toUser);
    },
  };
}
