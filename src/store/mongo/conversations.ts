import type { Filter } from 'mongodb';
import { groupBy } from '../../lib/group';
import {
  idInUse,
  type AddMembersResult,
  type ConversationPosition,
  type ControlDecision,
  type ControlOutcome,
  type ConversationRecord,
  type ConversationStore,
  type GroupControl,
  type MembershipRecord,
} from '../store';
import { defaultControl, effectiveControl } from '../control';
import {
  byIds,
  duplicateOn,
  isDuplicateKey,
  newestMessage,
  type Collections,
  type ConversationDoc,
  type GroupControlDoc,
} from './documents';
import { conversationIdsOf, getMemberships, join, markRead, readPositions, removeMember, setMute } from './memberships';

const directPairKey = (a: string, b: string) => (a < b ? `direct:${a}:${b}` : `direct:${b}:${a}`);

/** Conversation records: members from memberships (in slot order), newest message from the messages index. */
async function hydrate(c: Collections, docs: ConversationDoc[]): Promise<ConversationRecord[]> {
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

async function getConversations(c: Collections, ids: readonly string[]): Promise<(ConversationRecord | null)[]> {
  const docs = (await byIds(c.conversations, ids, (d) => d)).filter((d): d is ConversationDoc => d !== null);
  const records = new Map((await hydrate(c, docs)).map((r) => [r.id, r]));
  return ids.map((id) => records.get(id) ?? null);
}

async function insertConversation(
  c: Collections,
  maxSlots: number,
  doc: ConversationDoc,
  memberIds: readonly string[],
): Promise<boolean> {
  // An id in use (two processes issuing ids with one worker id) must not gain these members.
  if ((await c.conversations.countDocuments({ _id: doc._id }, { limit: 1 })) > 0) {
    throw idInUse('conversation', doc._id);
  }
  // Memberships first, then the document: a crash in between leaves memberships of a
  // conversation that does not exist, which no listing shows (it joins on the documents).
  const joined = await join(c, doc._id, memberIds, maxSlots, doc.createdAt);
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

async function findOrCreateDirect(
  c: Collections,
  maxSlots: number,
  { id, userIds: [a, b], createdAt }: { id: string; userIds: [string, string]; createdAt: Date },
): Promise<ConversationRecord> {
  const pairKey = directPairKey(a, b);
  for (;;) {
    const existing = await c.conversations.findOne({ pairKey });
    if (existing) return (await hydrate(c, [existing]))[0]!;
    const doc: ConversationDoc = {
      _id: id,
      kind: 'DIRECT',
      title: null,
      pairKey,
      createdAt,
      lastActivityAt: createdAt,
    };
    if (await insertConversation(c, maxSlots, doc, [a, b])) return (await hydrate(c, [doc]))[0]!;
  }
}

async function createGroup(
  c: Collections,
  maxSlots: number,
  {
    id,
    title,
    memberIds,
    createdAt,
    kind = 'GROUP',
  }: { id: string; title: string | null; memberIds: string[]; createdAt: Date; kind?: 'GROUP' | 'ENCRYPTED' },
): Promise<ConversationRecord> {
  const doc: ConversationDoc = {
    _id: id,
    kind,
    title,
    pairKey: `group:${id}`,
    createdAt,
    lastActivityAt: createdAt,
  };
  if (!(await insertConversation(c, maxSlots, doc, memberIds))) throw new Error(`createGroup: id ${id} exists`);
  return (await hydrate(c, [doc]))[0]!;
}

async function addMembers(
  c: Collections,
  maxSlots: number,
  conversationId: string,
  userIds: readonly string[],
  maxMembers: number,
  joinedAfterSeq?: number,
): Promise<AddMembersResult> {
  const doc = await c.conversations.findOne({ _id: conversationId });
  if (!doc) return { status: 'missing' };
  if (doc.kind === 'DIRECT') return { status: 'not-a-group' };
  const limit = Math.min(maxMembers, maxSlots);
  const joined = await join(c, conversationId, userIds, limit, new Date(), joinedAfterSeq);
  if (!joined.ok) return { status: 'too-many', memberCount: joined.memberCount };
  return { status: 'ok', conversation: (await hydrate(c, [doc]))[0]! };
}

async function listForUser(
  c: Collections,
  userId: string,
  { first, after }: { first: number; after?: ConversationPosition },
): Promise<ConversationRecord[]> {
  if (first <= 0) return [];
  const ids = await conversationIdsOf(c, userId);
  if (ids.length === 0) return [];
  const filter: Filter<ConversationDoc> = { _id: { $in: ids } };
  if (after) {
    filter.$or = [
      { lastActivityAt: { $lt: after.lastActivityAt } },
      { lastActivityAt: after.lastActivityAt, _id: { $lt: after.id } },
    ];
  }
  return hydrate(c, await c.conversations.find(filter).sort({ lastActivityAt: -1, _id: -1 }).limit(first).toArray());
}

async function listAllForUser(c: Collections, userId: string): Promise<ConversationRecord[]> {
  return (await getConversations(c, await conversationIdsOf(c, userId))).filter(
    (r): r is ConversationRecord => r !== null,
  );
}

/** The newest stored control of a group, if any. */
const newestControl = (c: Collections, conversationId: string) =>
  c.groupControls.find({ conversationId }).sort({ version: -1 }).limit(1).next();

/**
 * Removes the member the newest change removes, if that is not done yet (its
 * process stopped in between, or it is still at it): a change decided on
 * that version must not see them as a member. True if it did anything.
 */
async function finishRemoval(c: Collections, doc: GroupControlDoc | null): Promise<boolean> {
  if (!doc?.removeId || doc.removeDone) return false;
  await removeMember(c, doc.conversationId, doc.removeId);
  await c.groupControls.updateOne({ _id: doc._id }, { $set: { removeDone: true } });
  return true;
}

/**
 * A group's control as readers see it, and the members and memberships it
 * was decided on. The newest version is read first and the members after it
 * (its removal finished): a change that moves members is the insert of a
 * later version, so what a decision saw is what the version it read left.
 */
async function readControl(c: Collections, conversationId: string) {
  const stored = await newestControl(c, conversationId);
  await finishRemoval(c, stored);
  const [conversation] = await getConversations(c, [conversationId]);
  if (!conversation || conversation.kind === 'DIRECT') return null;
  const memberships = (
    await getMemberships(
      c,
      conversation.memberIds.map((userId) => ({ conversationId, userId })),
    )
  ).filter((m): m is MembershipRecord => m !== null);
  const base: GroupControl = stored
    ? { version: stored.version, ownerId: stored.ownerId, adminIds: stored.adminIds, addPolicy: stored.addPolicy }
    : defaultControl(conversation.memberIds, memberships);
  return {
    conversation,
    control: effectiveControl(base, conversation.memberIds, memberships),
    memberships,
    memberIds: conversation.memberIds,
  };
}

/**
 * Each group's control for readers, batched: the newest versions (one indexed
 * read per group, their pending removals finished), then every conversation
 * and membership in one read each, so a page of 100 groups costs 102 reads,
 * not 300. The same order as readControl's: versions first, members after.
 */
async function getControls(c: Collections, ids: readonly string[]): Promise<(GroupControl | null)[]> {
  const unique = [...new Set(ids)];
  const stored = await Promise.all(unique.map((id) => newestControl(c, id)));
  await Promise.all(stored.map((doc) => finishRemoval(c, doc)));
  const conversations = (await getConversations(c, unique)).filter(
    (conv): conv is ConversationRecord => conv !== null && conv.kind !== 'DIRECT',
  );
  const keys = conversations.flatMap((conv) => conv.memberIds.map((userId) => ({ conversationId: conv.id, userId })));
  const byConversation = new Map<string, MembershipRecord[]>();
  for (const m of await getMemberships(c, keys)) {
    if (m) byConversation.set(m.conversationId, [...(byConversation.get(m.conversationId) ?? []), m]);
  }
  const controls = new Map<string, GroupControl>();
  for (const conversation of conversations) {
    const own = byConversation.get(conversation.id) ?? [];
    const doc = stored[unique.indexOf(conversation.id)];
    const base: GroupControl = doc
      ? { version: doc.version, ownerId: doc.ownerId, adminIds: doc.adminIds, addPolicy: doc.addPolicy }
      : defaultControl(conversation.memberIds, own);
    controls.set(conversation.id, effectiveControl(base, conversation.memberIds, own));
  }
  return ids.map((id) => controls.get(id) ?? null);
}

/**
 * Decides on the newest version and inserts the next: the unique `_id` lets
 * one of two changes decided on the same version in, and the other decides
 * again on the state the first made. The member a change removes is removed
 * once its version is in (see GroupControlDoc).
 */
async function changeControl(c: Collections, conversationId: string, decide: ControlDecision): Promise<ControlOutcome> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const state = await readControl(c, conversationId);
    if (!state) {
      const [conversation] = await getConversations(c, [conversationId]);
      return conversation ? { status: 'not-a-group' } : { status: 'missing' };
    }
    const { control, memberships, memberIds } = state;
    const decision = decide({ control, memberIds, memberships });
    if ('refused' in decision) return { status: 'refused', reason: decision.refused };
    const version = control.version + 1;
    const doc: GroupControlDoc = {
      _id: `${conversationId}:${version}`,
      conversationId,
      version,
      ownerId: decision.control.ownerId,
      adminIds: [...decision.control.adminIds],
      addPolicy: decision.control.addPolicy,
      ...(decision.removeId ? { removeId: decision.removeId } : {}),
    };
    try {
      await c.groupControls.insertOne(doc);
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
      continue;
    }
    await finishRemoval(c, doc);
    const after = (await readControl(c, conversationId))!;
    return { status: 'ok', control: after.control, conversation: after.conversation };
  }
  throw new Error(`changeControl: group ${conversationId} kept changing under 50 attempts`);
}

/**
 * Conversations in `conversations`, their members and read positions in
 * `memberships`. Group size holds under concurrent adds because each member
 * takes a slot that is unique per conversation; see `join` (./memberships.ts).
 */
export function createConversationStore(c: Collections, { maxSlots }: { maxSlots: number }): ConversationStore {
  return {
    getMany: (ids) => getConversations(c, ids),
    findOrCreateDirect: (input) => findOrCreateDirect(c, maxSlots, input),
    createGroup: (input) => createGroup(c, maxSlots, input),
    addMembers: (conversationId, userIds, maxMembers, joinedAfterSeq) =>
      addMembers(c, maxSlots, conversationId, userIds, maxMembers, joinedAfterSeq),
    removeMember: (conversationId, userId) => removeMember(c, conversationId, userId),
    getMemberships: (keys) => getMemberships(c, keys),
    listForUser: (userId, page) => listForUser(c, userId, page),
    listAllForUser: (userId) => listAllForUser(c, userId),
    markRead: (conversationId, userId, seq, messageId) => markRead(c, conversationId, userId, seq, messageId),
    readPositions: (conversationIds) => readPositions(c, conversationIds),
    setMute: (conversationId, userId, until) => setMute(c, conversationId, userId, until),
    getControls: (ids) => getControls(c, ids),
    changeControl: (conversationId, decide) => changeControl(c, conversationId, decide),
    async setTitle(conversationId, title) {
      await c.conversations.updateOne({ _id: conversationId, kind: { $ne: 'DIRECT' } }, { $set: { title } });
    },
  };
}
