import type { KeyPackageRecord, MlsGroupRecord, MlsStore } from '../store';
import { byIds, isDuplicateKey, type Collections, type KeyPackageDoc, type MlsGroupDoc } from './documents';

const toGroup = ({ _id, ...fields }: MlsGroupDoc): MlsGroupRecord => ({ conversationId: _id, ...fields });

const toKeyPackage = ({ _id, ...fields }: KeyPackageDoc): KeyPackageRecord => ({
  ref: _id,
  ...fields,
  claimedAt: fields.claimedAt ?? null,
});

/**
 * Encrypted conversations' MLS groups (`mlsGroups`, moved on by compare and
 * set on the epoch) and the KeyPackage directory (`keyPackages`). A claim is
 * an insert into `keyPackageClaims` keyed by the KeyPackage's ref: the unique
 * `_id` hands each out once across processes (a findOneAndUpdate is not
 * atomic enough on FerretDB: concurrent claims got the same document).
 */
export function createMlsStore(c: Collections): MlsStore {
  const unclaimedFilter = (sessionId: string, now: Date) => ({
    sessionId,
    lastResort: false,
    claimedAt: null,
    notAfter: { $gt: now },
  });
  return {
    async createGroup({ conversationId, ...fields }) {
      await c.mlsGroups.insertOne({ _id: conversationId, ...fields });
    },
    async getGroups(ids) {
      return byIds(c.mlsGroups, ids, toGroup);
    },
    async advance(conversationId, epoch, leaves) {
      const result = await c.mlsGroups.updateOne(
        { _id: conversationId, epoch },
        { $set: { epoch: epoch + 1, leaves } },
      );
      return result.modifiedCount === 1;
    },
    async addKeyPackages(packages, maxUnclaimed, now) {
      const sessionId = packages[0]?.sessionId;
      if (sessionId === undefined) return { status: 'ok', unclaimed: 0 };
      const fresh = packages.filter((p) => !p.lastResort);
      const known = await c.keyPackages.countDocuments({ _id: { $in: fresh.map((p) => p.ref) } });
      const before = await c.keyPackages.countDocuments(unclaimedFilter(sessionId, now));
      if (before + fresh.length - known > maxUnclaimed) return { status: 'too-many' };
      for (const { ref, ...fields } of packages) {
        if (fields.lastResort) {
          await c.keyPackages.deleteMany({ sessionId, lastResort: true, _id: { $ne: ref } });
        }
        try {
          await c.keyPackages.insertOne({ _id: ref, ...fields });
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
        }
      }
      return { status: 'ok', unclaimed: await c.keyPackages.countDocuments(unclaimedFilter(sessionId, now)) };
    },
    async claimKeyPackage(sessionId, now) {
      const tried = new Set<string>();
      for (;;) {
        const candidates = await c.keyPackages
          .find({ ...unclaimedFilter(sessionId, now), _id: { $nin: [...tried] } })
          .sort({ createdAt: 1, _id: 1 })
          .limit(10)
          .toArray();
        if (candidates.length === 0) break;
        for (const doc of candidates) {
          tried.add(doc._id);
          // The claim is the insert: of concurrent claims of one KeyPackage, the unique _id lets one through.
          try {
            await c.keyPackageClaims.insertOne({ _id: doc._id, sessionId, claimedAt: now });
          } catch (error) {
            if (isDuplicateKey(error)) continue;
            throw error;
          }
          await c.keyPackages.updateOne({ _id: doc._id }, { $set: { claimedAt: now } });
          return toKeyPackage({ ...doc, claimedAt: now });
        }
      }
      const lastResort = await c.keyPackages.findOne({ sessionId, lastResort: true, notAfter: { $gt: now } });
      return lastResort ? toKeyPackage(lastResort) : null;
    },
    async getKeyPackage(ref) {
      const doc = await c.keyPackages.findOne({ _id: ref });
      return doc ? toKeyPackage(doc) : null;
    },
    async countUnclaimed(sessionId, now) {
      return c.keyPackages.countDocuments(unclaimedFilter(sessionId, now));
    },
    async deleteForSessions(sessionIds) {
      if (sessionIds.length === 0) return;
      await c.keyPackages.deleteMany({ sessionId: { $in: [...sessionIds] } });
      await c.keyPackageClaims.deleteMany({ sessionId: { $in: [...sessionIds] } });
    },
  };
}
