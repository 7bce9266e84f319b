import { idInUse, type SessionEndReason, type SessionRecord, type SessionStore } from '../store';
import type { Tables } from './tables';

/**
 * Sessions in `sessions`, their refresh token hashes (current and spent) in
 * `sessionTokens`. Every operation finishes without yielding, so a rotation
 * is atomic: of concurrent ones with one hash, the first moves the
 * generation on and the others find their token spent.
 */
export function createMemorySessionStore(t: Tables): SessionStore {
  const copy = (id: string): SessionRecord | null => {
    const held = t.sessions.get(id);
    return held ? { ...held.record } : null;
  };

  /** Ends a live session; whether this call ended it. */
  const endNow = (id: string, now: Date, because: SessionEndReason): boolean => {
    const held = t.sessions.get(id);
    if (!held || held.record.endedAt) return false;
    held.record.endedAt = now;
    held.record.endedBecause = because;
    return true;
  };

  return {
    async create({ refreshTokenHash, refreshExpiresAt, ...fields }) {
      if (t.sessions.has(fields.id)) throw idInUse('session', fields.id);
      if (t.sessionTokens.has(refreshTokenHash)) throw new Error('refresh token hash is already in use');
      const record: SessionRecord = {
        ...fields,
        lastUsedAt: fields.createdAt,
        endedAt: null,
        endedBecause: null,
        refreshExpiresAt,
      };
      t.sessions.set(record.id, { record, generation: 0 });
      t.sessionTokens.set(refreshTokenHash, { sessionId: record.id, generation: 0 });
      let mine = t.sessionIdsByUser.get(record.userId);
      if (!mine) t.sessionIdsByUser.set(record.userId, (mine = new Set()));
      mine.add(record.id);
      return { ...record };
    },
    async get(id) {
      return copy(id);
    },
    async listForUser(userId) {
      return [...(t.sessionIdsByUser.get(userId) ?? [])]
        .map((id) => copy(id)!)
        .filter((s) => s.endedAt === null)
        .sort((a, b) => b.lastUsedAt.getTime() - a.lastUsedAt.getTime() || (a.id < b.id ? 1 : -1));
    },
    async rotate({ refreshTokenHash, newRefreshTokenHash, now, refreshExpiresAt }) {
      const token = t.sessionTokens.get(refreshTokenHash);
      if (!token) return { outcome: 'unknown' };
      const held = t.sessions.get(token.sessionId)!;
      const { record } = held;
      if (record.endedAt) return { outcome: 'ended', session: { ...record } };
      if (record.refreshExpiresAt <= now) return { outcome: 'expired', session: { ...record } };
      if (token.generation !== held.generation) {
        endNow(record.id, now, 'reuse');
        return { outcome: 'reused', session: { ...record } };
      }
      if (t.sessionTokens.has(newRefreshTokenHash)) throw new Error('refresh token hash is already in use');
      held.generation += 1;
      t.sessionTokens.set(newRefreshTokenHash, { sessionId: record.id, generation: held.generation });
      record.refreshExpiresAt = refreshExpiresAt;
      if (record.lastUsedAt < now) record.lastUsedAt = now;
      return { outcome: 'rotated', session: { ...record } };
    },
    async reissue({ sessionId, newRefreshTokenHash, now, refreshExpiresAt }) {
      const held = t.sessions.get(sessionId);
      if (!held || held.record.endedAt) return null;
      if (t.sessionTokens.has(newRefreshTokenHash)) throw new Error('refresh token hash is already in use');
      held.generation += 1;
      t.sessionTokens.set(newRefreshTokenHash, { sessionId, generation: held.generation });
      held.record.refreshExpiresAt = refreshExpiresAt;
      if (held.record.lastUsedAt < now) held.record.lastUsedAt = now;
      return { ...held.record };
    },
    async touch(id, now) {
      const record = t.sessions.get(id)?.record;
      if (record && record.lastUsedAt < now) record.lastUsedAt = now;
    },
    async end(id, now, because) {
      endNow(id, now, because);
      return copy(id);
    },
    async endAllForUser(userId, now, because) {
      return [...(t.sessionIdsByUser.get(userId) ?? [])].filter((id) => endNow(id, now, because));
    },
  };
}
