import type { Filter } from 'mongodb';
import { groupBy } from '../../lib/group';
import {
  idInUse,
  type AddMembersResult,
  type ConversationRecord,
  type ConversationStore,
  type MembershipRecord,
} from '../store';
import {
  byIds,
  duplicateOn,
  isDuplicateKey,
  membershipId,
  newestMessage,
  toMembership,
  type Collections,
  type ConversationDoc,
} from './documents';

const directPairKey = (a: string, b: string) => (a < b ? `direct:${a}:${b}` : `direct:${b}:${a}`);

/**
 * Conversations in `conversations`, their members and read positions in
 * `memberships`. Group size holds under concurrent adds because each member
 * takes a slot that is unique per conversation; see `join`.
 */
export function createConversationStore(c: Collections, { maxSlots }: { maxSlots: number }): ConversationStore {
  /** Conversation records: members from memberships (in slot order), newest message from the messages index. */
  async function hydrate(docs: ConversationDoc[]): Promise<ConversationRecord[]> {
    if (docs.length === 0) return [];
    const ids = docs.map((d) => d._id);
    const [memberships, newest] = await Promise.all([
      c.memberships
        .find({ conversationId: { $in: ids } }, { projection: { conversationId: 1, userId: 1, slot: 1 } })
        .toArray(),
      Promise.all(ids.map((id) => newestMessage(c, id))),
    ]);
    const members = groupBy(memberships, (m) => m.conversationId);
    return docs.map((doc, i) => {
      const last = newest[i] ?? null;
      return {
        id: doc._id,
        kind: doc.kind,
        title: doc.title,
        memberIds: (members.get(doc._id) ?? []).sort((a, b) => a.slot - b.slot).map((m) => m.userId),
        createdAt: doc.createdAt,
        lastSeq: last?.seq ?? 0,
        lastMessageId: last?._id ?? null,
        lastActivityAt: last && last.createdAt > doc.lastActivityAt ? last.createdAt : doc.lastActivityAt,
      };
    });
  }

  async function getConversations(ids: readonly string[]): Promise<(ConversationRecord | null)[]> {
    const docs = (await byIds(c.conversations, ids, (d) => d)).filter((d): d is ConversationDoc => d !== null);
    const records = new Map((await hydrate(docs)).map((r) => [r.id, r]));
    return ids.map((id) => records.get(id) ?? null);
  }

  /**
   * Makes `userIds` members, each in a free slot, all or none. A batch that
   * runs out of slots because a concurrent add took some gives its own back
   * and tries again after a random pause, counting afresh: so two adds that
   * fit only one at a time end with one added and one refused, never both
   * refused, and never more members than slots.
   */
  async function join(
    conversationId: string,
    userIds: readonly string[],
    maxMembers: number,
  ): Promise<{ ok: true; inserted: string[] } | { ok: false; memberCount: number }> {
    const limit = Math.min(maxMembers, maxSlots);
    const wanted = [...new Set(userIds)];
    const joinedSeq = (await newestMessage(c, conversationId))?.seq ?? 0;
    for (let attempt = 0; ; attempt++) {
      const current = await readSlots(conversationId);
      const missing = wanted.filter((id) => !current.some((m) => m.userId === id));
      const memberCount = current.length + missing.length;
      if (memberCount > limit) return { ok: false, memberCount };
      const inserted = await takeSlots(conversationId, missing, limit, joinedSeq, current);
      if (inserted) return { ok: true, inserted };
      if (attempt === 20) return { ok: false, memberCount };
      await new Promise((r) => setTimeout(r, Math.random() * 10 * (attempt + 1)));
    }
  }

  /** Who holds which slot of a conversation. */
  async function readSlots(conversationId: string): Promise<{ userId: string; slot: number }[]> {
    return c.memberships.find({ conversationId }, { projection: { userId: 1, slot: 1 } }).toArray();
  }

  /**
   * Inserts a membership in a free slot for each user, starting from `current`
   * and reading the slots again only when an insert loses a race: the ids of
   * the memberships inserted, or null, with all of them removed again, if the
   * slots ran out.
   */
  async function takeSlots(
    conversationId: string,
    userIds: readonly string[],
    limit: number,
    joinedSeq: number,
    current: { userId: string; slot: number }[],
  ): Promise<string[] | null> {
    const taken: string[] = [];
    let slots = [...current];
    for (const userId of userIds) {
      const _id = membershipId(conversationId, userId);
      for (;;) {
        if (slots.some((m) => m.userId === userId)) break;
        const used = new Set(slots.map((m) => m.slot));
        let slot = 1;
        while (used.has(slot)) slot++;
        if (slot > limit) {
          await c.memberships.deleteMany({ _id: { $in: taken } });
          return null;
        }
        try {
          await c.memberships.insertOne({
            _id,
            conversationId,
            userId,
            slot,
            joinedSeq,
            lastReadSeq: 0,
            lastReadMessageId: null,
          });
          taken.push(_id);
          slots.push({ userId, slot });
          break;
        } catch (error) {
          // Someone took the slot, or added this user, first: look again.
          if (!isDuplicateKey(error)) throw error;
          slots = await readSlots(conversationId);
        }
      }
    }
    return taken;
  }

  async function insertConversation(doc: ConversationDoc, memberIds: readonly string[]): Promise<boolean> {
    // An id in use (two processes issuing ids with one worker id) must not gain these members.
    if ((await c.conversations.countDocuments({ _id: doc._id }, { limit: 1 })) > 0) {
      throw idInUse('conversation', doc._id);
    }
    // Memberships first, then the document: a crash in between leaves memberships of a
    // conversation that does not exist, which no listing shows (it joins on the documents).
    const joined = await join(doc._id, memberIds, maxSlots);
    if (!joined.ok) throw new Error(`conversation ${doc._id}: more than ${maxSlots} members`);
    try {
      await c.conversations.insertOne(doc);
      return true;
    } catch (error) {
      // Only what this call inserted: should the id belong to another conversation, its members stay.
      await c.memberships.deleteMany({ _id: { $in: joined.inserted } });
      if (!isDuplicateKey(error)) throw error;
      const pairTaken =
        duplicateOn(error, 'pairKey') ??
        (await c.conversations.countDocuments({ pairKey: doc.pairKey }, { limit: 1 })) > 0;
      if (pairTaken) return false;
      throw idInUse('conversation', doc._id);
    }
  }

  async function conversationIdsOf(userId: string): Promise<string[]> {
    const docs = await c.memberships.find({ userId }, { projection: { conversationId: 1 } }).toArray();
    return docs.map((m) => m.conversationId);
  }

  return {
    getMany: getConversations,
    async findOrCreateDirect({ id, userIds: [a, b], createdAt }) {
      const pairKey = directPairKey(a, b);
      for (;;) {
        const existing = await c.conversations.findOne({ pairKey });
        if (existing) return (await hydrate([existing]))[0]!;
        const doc: ConversationDoc = {
          _id: id,
          kind: 'DIRECT',
          title: null,
          pairKey,
          createdAt,
          lastActivityAt: createdAt,
        };
        if (await insertConversation(doc, [a, b])) return (await hydrate([doc]))[0]!;
      }
    },
    async createGroup({ id, title, memberIds, createdAt }) {
      const doc: ConversationDoc = {
        _id: id,
        kind: 'GROUP',
        title,
        pairKey: `group:${id}`,
        createdAt,
        lastActivityAt: createdAt,
      };
      if (!(await insertConversation(doc, memberIds))) throw new Error(`createGroup: id ${id} exists`);
      return (await hydrate([doc]))[0]!;
    },
    async addMembers(conversationId, userIds, maxMembers): Promise<AddMembersResult> {
      const doc = await c.conversations.findOne({ _id: conversationId });
      if (!doc) return { status: 'missing' };
      if (doc.kind !== 'GROUP') return { status: 'not-a-group' };
      const joined = await join(conversationId, userIds, maxMembers);
      if (!joined.ok) return { status: 'too-many', memberCount: joined.memberCount };
      return { status: 'ok', conversation: (await hydrate([doc]))[0]! };
    },
    async removeMember(conversationId, userId) {
      await c.memberships.deleteOne({ _id: membershipId(conversationId, userId) });
    },
    getMemberships(keys): Promise<(MembershipRecord | null)[]> {
      return byIds(
        c.memberships,
        keys.map((k) => membershipId(k.conversationId, k.userId)),
        toMembership,
      );
    },
    async listForUser(userId, { first, after }) {
      if (first <= 0) return [];
      const ids = await conversationIdsOf(userId);
      if (ids.length === 0) return [];
      const filter: Filter<ConversationDoc> = { _id: { $in: ids } };
      if (after) {
        filter.$or = [
          { lastActivityAt: { $lt: after.lastActivityAt } },
          { lastActivityAt: after.lastActivityAt, _id: { $lt: after.id } },
        ];
      }
      return hydrate(await c.conversations.find(filter).sort({ lastActivityAt: -1, _id: -1 }).limit(first).toArray());
    },
    async listAllForUser(userId) {
      return (await getConversations(await conversationIdsOf(userId))).filter(
        (r): r is ConversationRecord => r !== null,
      );
    },
    async markRead(conversationId, userId, seq, messageId) {
      const _id = membershipId(conversationId, userId);
      // Forward only. Two devices marking at once may both write; the position then
      // settles on the later write, which is at worst the lower of two read marks.
      const { modifiedCount } = await c.memberships.updateOne(
        { _id, lastReadSeq: { $lt: seq } },
        { $set: { lastReadSeq: seq, lastReadMessageId: messageId } },
      );
      const doc = await c.memberships.findOne({ _id });
      return doc ? { membership: toMembership(doc), advanced: modifiedCount > 0 } : null;
    },
    async readPositions(conversationIds) {
      if (conversationIds.length === 0) return [];
      const docs = await c.memberships
        .find({ conversationId: { $in: [...new Set(conversationIds)] } })
        .sort({ conversationId: 1, slot: 1 })
        .toArray();
      const byConversation = new Map<string, MembershipRecord[]>();
      for (const d of docs) {
        const list = byConversation.get(d.conversationId);
        if (list) list.push(toMembership(d));
        else byConversation.set(d.conversationId, [toMembership(d)]);
      }
      return conversationIds.map((id) => byConversation.get(id) ?? []);
    },
  };
}
