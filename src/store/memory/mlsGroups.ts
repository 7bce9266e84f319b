import type { MlsGroupRecord, MlsStore } from '../store';
import type { Tables } from './tables';

const copyGroup = (g: MlsGroupRecord): MlsGroupRecord => ({ ...g, leaves: [...g.leaves] });

/** Encrypted conversations' MLS groups and the KeyPackage directory, in memory. */
export function createMemoryMlsStore(t: Tables): MlsStore {
  const ofSession = (sessionId: string) => t.keyPackagesBySession.get(sessionId) ?? [];
  const unclaimed = (sessionId: string, now: Date) =>
    ofSession(sessionId).filter((k) => !k.lastResort && k.claimedAt === null && k.notAfter > now);
  return {
    async createGroup(group) {
      if (t.mlsGroups.has(group.conversationId))
        throw new Error(`conversation ${group.conversationId} has an MLS group`);
      t.mlsGroups.set(group.conversationId, copyGroup(group));
    },
    async getGroups(ids) {
      return ids.map((id) => {
        const group = t.mlsGroups.get(id);
        return group ? copyGroup(group) : null;
      });
    },
    async advance(conversationId, epoch, leaves) {
      const group = t.mlsGroups.get(conversationId);
      if (!group || group.epoch !== epoch) return false;
      group.epoch = epoch + 1;
      group.leaves = [...leaves];
      return true;
    },
    async addKeyPackages(packages, maxUnclaimed, now) {
      const sessionId = packages[0]?.sessionId;
      if (sessionId === undefined) return { status: 'ok', unclaimed: 0 };
      const fresh = packages.filter((p) => !p.lastResort && !t.keyPackages.has(p.ref));
      if (unclaimed(sessionId, now).length + fresh.length > maxUnclaimed) return { status: 'too-many' };
      let list = ofSession(sessionId);
      for (const p of packages) {
        if (t.keyPackages.has(p.ref)) continue;
        if (p.lastResort) {
          for (const old of list.filter((k) => k.lastResort)) t.keyPackages.delete(old.ref);
          list = list.filter((k) => !k.lastResort);
        }
        const record = { ...p };
        t.keyPackages.set(p.ref, record);
        list.push(record);
      }
      t.keyPackagesBySession.set(sessionId, list);
      return { status: 'ok', unclaimed: unclaimed(sessionId, now).length };
    },
    async claimKeyPackage(sessionId, now) {
      const next = unclaimed(sessionId, now)[0];
      if (next) {
        next.claimedAt = now;
        return { ...next };
      }
      const lastResort = ofSession(sessionId).find((k) => k.lastResort && k.notAfter > now);
      return lastResort ? { ...lastResort } : null;
    },
    async getKeyPackage(ref) {
      const record = t.keyPackages.get(ref);
      return record ? { ...record } : null;
    },
    async countUnclaimed(sessionId, now) {
      return unclaimed(sessionId, now).length;
    },
    async deleteForSessions(sessionIds) {
      for (const sessionId of sessionIds) {
        for (const k of ofSession(sessionId)) t.keyPackages.delete(k.ref);
        t.keyPackagesBySession.delete(sessionId);
      }
    },
  };
}
