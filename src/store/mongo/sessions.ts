/**
 * Sessions: `sessions` holds what does not change (and `lastUsedAt`, best
 * effort), `sessionTokens` every refresh token hash a session has had, and
 * `sessionEnds` its end. Only inserts decide (see the module comment of
 * ./index.ts): a rotation inserts the token of the next generation under the
 * unique (sessionId, generation) index, so of two rotations of one token the
 * loser's insert fails and it has presented a spent token; an end is the
 * insert of the session's one `sessionEnds` document, so the first end stays.
 */
import { idInUse, type SessionEndReason, type SessionRecord, type SessionStore } from '../store';
import {
  isDuplicateKey,
  type Collections,
  type SessionDoc,
  type SessionEndDoc,
  type SessionTokenDoc,
} from './documents';

const newestToken = (c: Collections, sessionId: string) =>
  c.sessionTokens.find({ sessionId }).sort({ generation: -1 }).limit(1).next();

function toSession(doc: SessionDoc, newest: SessionTokenDoc, end: SessionEndDoc | null): SessionRecord {
  return {
    id: doc._id,
    userId: doc.userId,
    createdAt: doc.createdAt,
    // A rotation uses the session without writing this document: its token's time counts.
    lastUsedAt: doc.lastUsedAt < newest.issuedAt ? newest.issuedAt : doc.lastUsedAt,
    deviceName: doc.deviceName ?? null,
    endedAt: end?.at ?? null,
    endedBecause: end?.because ?? null,
    refreshExpiresAt: newest.expiresAt,
  };
}

/** The session as stored now; null when unknown (or its creation stopped before its first token). */
async function read(c: Collections, id: string): Promise<SessionRecord | null> {
  const [doc, newest, end] = await Promise.all([
    c.sessions.findOne({ _id: id }),
    newestToken(c, id),
    c.sessionEnds.findOne({ _id: id }),
  ]);
  return doc && newest ? toSession(doc, newest, end) : null;
}

/** Inserts the session's end; false when it had ended already. */
async function insertEnd(c: Collections, end: SessionEndDoc): Promise<boolean> {
  try {
    await c.sessionEnds.insertOne(end);
    return true;
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
    return false;
  }
}

/** Ends a session, recording the newest generation it has now; false when it had ended already. */
async function endSession(
  c: Collections,
  id: string,
  userId: string,
  now: Date,
  because: SessionEndReason,
): Promise<boolean> {
  const newest = await newestToken(c, id);
  return insertEnd(c, { _id: id, userId, at: now, because, generation: newest?.generation ?? 0 });
}

/** Sessions in `sessions`, `sessionTokens` and `sessionEnds` (see the module comment). */
export function createSessionStore(c: Collections): SessionStore {
  return {
    async create({ id, userId, createdAt, deviceName, refreshTokenHash, refreshExpiresAt }) {
      try {
        await c.sessions.insertOne({ _id: id, userId, createdAt, lastUsedAt: createdAt, deviceName });
      } catch (error) {
        if (isDuplicateKey(error)) throw idInUse('session', id);
        throw error;
      }
      const token: SessionTokenDoc = {
        _id: refreshTokenHash,
        sessionId: id,
        generation: 0,
        issuedAt: createdAt,
        expiresAt: refreshExpiresAt,
      };
      try {
        await c.sessionTokens.insertOne(token);
      } catch (error) {
        await c.sessions.deleteOne({ _id: id });
        if (isDuplicateKey(error)) throw new Error('refresh token hash is already in use', { cause: error });
        throw error;
      }
      return toSession({ _id: id, userId, createdAt, lastUsedAt: createdAt, deviceName }, token, null);
    },
    get: (id) => read(c, id),
    async listForUser(userId) {
      const [docs, ends] = await Promise.all([
        c.sessions.find({ userId }).toArray(),
        c.sessionEnds.find({ userId }, { projection: { _id: 1 } }).toArray(),
      ]);
      const ended = new Set(ends.map((e) => e._id));
      const live = docs.filter((d) => !ended.has(d._id));
      const newest = await Promise.all(live.map((d) => newestToken(c, d._id)));
      return live
        .flatMap((d, i) => (newest[i] ? [toSession(d, newest[i], null)] : []))
        .sort((a, b) => b.lastUsedAt.getTime() - a.lastUsedAt.getTime() || (a.id < b.id ? 1 : -1));
    },
    async rotate({ refreshTokenHash, newRefreshTokenHash, now, refreshExpiresAt }) {
      const token = await c.sessionTokens.findOne({ _id: refreshTokenHash });
      if (!token) return { outcome: 'unknown' };
      const { sessionId, generation } = token;
      const [doc, newest, end] = await Promise.all([
        c.sessions.findOne({ _id: sessionId }),
        newestToken(c, sessionId),
        c.sessionEnds.findOne({ _id: sessionId }),
      ]);
      if (!doc || !newest) return { outcome: 'unknown' };
      const reused = async () => {
        await endSession(c, sessionId, doc.userId, now, 'reuse');
        return { outcome: 'reused' as const, session: (await read(c, sessionId))! };
      };
      if (end) return { outcome: 'ended', session: toSession(doc, newest, end) };
      if (newest.expiresAt <= now) return { outcome: 'expired', session: toSession(doc, newest, null) };
      if (newest.generation !== generation) return reused();
      const next: SessionTokenDoc = {
        _id: newRefreshTokenHash,
        sessionId,
        generation: generation + 1,
        issuedAt: now,
        expiresAt: refreshExpiresAt,
      };
      try {
        await c.sessionTokens.insertOne(next);
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        // FerretDB does not say which index refused it: a taken generation means a concurrent rotation won.
        const taken = await c.sessionTokens.countDocuments({ sessionId, generation: next.generation }, { limit: 1 });
        if (taken > 0) return reused();
        throw new Error('refresh token hash is already in use', { cause: error });
      }
      // An end that saw only older tokens may have come between the checks above and the insert: it wins.
      const endedMeanwhile = await c.sessionEnds.findOne({ _id: sessionId });
      if (endedMeanwhile && endedMeanwhile.generation <= generation) {
        return { outcome: 'ended', session: toSession(doc, next, endedMeanwhile) };
      }
      return { outcome: 'rotated', session: toSession(doc, next, endedMeanwhile) };
    },
    async reissue({ sessionId, newRefreshTokenHash, now, refreshExpiresAt }) {
      // A concurrent rotation or reissue may take the next generation first: then it is tried after that one.
      for (let attempt = 0; attempt < 5; attempt++) {
        const [doc, newest, end] = await Promise.all([
          c.sessions.findOne({ _id: sessionId }),
          newestToken(c, sessionId),
          c.sessionEnds.findOne({ _id: sessionId }),
        ]);
        if (!doc || !newest || end) return null;
        const next: SessionTokenDoc = {
          _id: newRefreshTokenHash,
          sessionId,
          generation: newest.generation + 1,
          issuedAt: now,
          expiresAt: refreshExpiresAt,
        };
        try {
          await c.sessionTokens.insertOne(next);
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
          const taken = await c.sessionTokens.countDocuments({ sessionId, generation: next.generation }, { limit: 1 });
          if (taken > 0) continue;
          throw new Error('refresh token hash is already in use', { cause: error });
        }
        const endedMeanwhile = await c.sessionEnds.findOne({ _id: sessionId });
        if (endedMeanwhile && endedMeanwhile.generation <= newest.generation) return null;
        return toSession(doc, next, endedMeanwhile);
      }
      throw new Error(`session ${sessionId}: its refresh token kept changing while being reissued`);
    },
    async touch(id, now) {
      await c.sessions.updateOne({ _id: id, lastUsedAt: { $lt: now } }, { $set: { lastUsedAt: now } });
    },
    async end(id, now, because) {
      const doc = await c.sessions.findOne({ _id: id });
      if (!doc) return null;
      await endSession(c, id, doc.userId, now, because);
      return read(c, id);
    },
    async endAllForUser(userId, now, because) {
      const [docs, ends] = await Promise.all([
        c.sessions.find({ userId }, { projection: { _id: 1 } }).toArray(),
        c.sessionEnds.find({ userId }, { projection: { _id: 1 } }).toArray(),
      ]);
      const ended = new Set(ends.map((e) => e._id));
      const live = docs.map((d) => d._id).filter((id) => !ended.has(id));
      const won = await Promise.all(live.map((id) => endSession(c, id, userId, now, because)));
      return live.filter((_, i) => won[i]);
    },
  };
}
