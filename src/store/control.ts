/**
 * What both stores share of a group's control (records.ts GroupControl): the
 * state of a group from before roles, and the state as readers see it.
 */
import type { GroupControl, MembershipRecord } from './records';

/** The control of a group with no stored control: its longest-standing member owns it. */
export function defaultControl(memberIds: readonly string[], memberships: readonly MembershipRecord[]): GroupControl {
  return {
    version: 0,
    ownerId: longestStanding(memberIds, memberships)[0] ?? null,
    adminIds: [],
    addPolicy: 'ALL_MEMBERS',
  };
}

/**
 * Members, longest-standing first: by when they joined (null: from before
 * that was kept, so first), then in the store's member order.
 */
export function longestStanding(memberIds: readonly string[], memberships: readonly MembershipRecord[]): string[] {
  const joined = new Map(memberships.map((m) => [m.userId, m.joinedAt?.getTime() ?? 0]));
  return memberIds
    .map((id, i) => ({ id, i, at: joined.get(id) ?? 0 }))
    .sort((a, b) => a.at - b.at || a.i - b.i)
    .map((m) => m.id);
}

/**
 * The control as readers see it: admins and owner among the members only (a
 * member who left, or was removed while another change was deciding, holds
 * no role), and an owner who is gone replaced by the longest-standing admin,
 * else member.
 */
export function effectiveControl(
  stored: GroupControl,
  memberIds: readonly string[],
  memberships: readonly MembershipRecord[],
): GroupControl {
  const members = new Set(memberIds);
  const adminIds = stored.adminIds.filter((id) => members.has(id));
  if (stored.ownerId && members.has(stored.ownerId)) return { ...stored, adminIds };
  const order = longestStanding(memberIds, memberships);
  const ownerId = order.find((id) => adminIds.includes(id)) ?? order[0] ?? null;
  return { ...stored, ownerId, adminIds: adminIds.filter((id) => id !== ownerId) };
}
