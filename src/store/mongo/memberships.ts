/**
 * Members of conversations and their read positions, in `memberships`: the
 * part of the conversation store (./conversations.ts) that joins, leaves and
 * reads. Each member holds a slot unique per conversation; see `join`.
 */
import type { MembershipRecord } from '../store';
import { byIds, isDuplicateKey, membershipId, newestMessage, toMembership, type Collections } from './documents';

/**
 * Makes `userIds` members, each in a free slot, all or none. A batch that
 * runs out of slots because a concurrent add took some gives its own back
 * and tries again after a random pause, counting afresh: so two adds that
 * fit only one at a time end with one added and one refused, never both
 * refused, and never more members than slots. Slots are 1 to `limit`.
 */
export async function join(
  c: Collections,
  conversationId: string,
  userIds: readonly string[],
  limit: number,
  joinedAt: Date,
  joinedAfterSeq?: number,
): Promise<{ ok: true; inserted: string[] } | { ok: false; memberCount: number }> {
  const wanted = [...new Set(userIds)];
  const newest = (await newestMessage(c, conversationId))?.seq ?? 0;
  const joinedSeq = Math.min(joinedAfterSeq ?? newest, newest);
  for (let attempt = 0; ; attempt++) {
    const current = await readSlots(c, conversationId);
    const missing = wanted.filter((id) => !current.some((m) => m.userId === id));
    const memberCount = current.length + missing.length;
    if (memberCount > limit) return { ok: false, memberCount };
    const inserted = await takeSlots(c, conversationId, missing, limit, { joinedSeq, joinedAt }, current);
    if (inserted) return { ok: true, inserted };
    if (attempt === 20) return { ok: false, memberCount };
    await new Promise((r) => setTimeout(r, Math.random() * 10 * (attempt + 1)));
  }
}

/** Who holds which slot of a conversation. */
async function readSlots(c: Collections, conversationId: string): Promise<{ userId: string; slot: number }[]> {
  return c.memberships.find({ conversationId }, { projection: { userId: 1, slot: 1 } }).toArray();
}

/**
 * Inserts a membership in a free slot for each user, starting from `current`
 * and reading the slots again only when an insert loses a race: the ids of
 * the memberships inserted, or null, with all of them removed again, if the
 * slots ran out.
 */
async function takeSlots(
  c: Collections,
  conversationId: string,
  userIds: readonly string[],
  limit: number,
  { joinedSeq, joinedAt }: { joinedSeq: number; joinedAt: Date },
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
          joinedAt,
        });
        taken.push(_id);
        slots.push({ userId, slot });
        break;
      } catch (error) {
        // Someone took the slot, or added this user, first: look again.
        if (!isDuplicateKey(error)) throw error;
        slots = await readSlots(c, conversationId);
      }
    }
  }
  return taken;
}

/** The ids of the conversations `userId` is a member of. */
export async function conversationIdsOf(c: Collections, userId: string): Promise<string[]> {
  const docs = await c.memberships.find({ userId }, { projection: { conversationId: 1 } }).toArray();
  return docs.map((m) => m.conversationId);
}

/** Removes a member and their read position. Idempotent. */
export async function removeMember(c: Collections, conversationId: string, userId: string): Promise<void> {
  await c.memberships.deleteOne({ _id: membershipId(conversationId, userId) });
}

/** Memberships for (conversation, user) pairs, `null` where the user is not a member. */
export function getMemberships(
  c: Collections,
  keys: readonly { conversationId: string; userId: string }[],
): Promise<(MembershipRecord | null)[]> {
  return byIds(
    c.memberships,
    keys.map((k) => membershipId(k.conversationId, k.userId)),
    toMembership,
  );
}

/** Moves the read position forward to (seq, messageId), never backwards; `null` if not a member. */
export async function markRead(
  c: Collections,
  conversationId: string,
  userId: string,
  seq: number,
  messageId: string,
): Promise<{ membership: MembershipRecord; advanced: boolean } | null> {
  const _id = membershipId(conversationId, userId);
  // Forward only. Two devices marking at once may both write; the position then
  // settles on the later write, which is at worst the lower of two read marks.
  const { modifiedCount } = await c.memberships.updateOne(
    { _id, lastReadSeq: { $lt: seq } },
    { $set: { lastReadSeq: seq, lastReadMessageId: messageId } },
  );
  const doc = await c.memberships.findOne({ _id });
  return doc ? { membership: toMembership(doc), advanced: modifiedCount > 0 } : null;
}

/** Mutes the conversation for the member until `until` (null: unmutes); `null` if not a member. */
export async function setMute(
  c: Collections,
  conversationId: string,
  userId: string,
  until: Date | null,
): Promise<MembershipRecord | null> {
  const _id = membershipId(conversationId, userId);
  // One field of one document, written whole: concurrent mutes settle on the last one.
  await c.memberships.updateOne({ _id }, until ? { $set: { mutedUntil: until } } : { $unset: { mutedUntil: '' } });
  const doc = await c.memberships.findOne({ _id });
  return doc ? toMembership(doc) : null;
}

/** Every member's membership of each conversation, in slot order. */
export async function readPositions(c: Collections, conversationIds: readonly string[]): Promise<MembershipRecord[][]> {
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
}
