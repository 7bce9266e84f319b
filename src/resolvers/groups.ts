/**
 * Group roles: who may rename a group, set who adds members, remove members
 * and change roles. Every such change is decided here, by `decide`, against
 * the group's control as the store holds it at that moment
 * (store.conversations.changeControl), so that concurrent changes on any
 * processes end as some order of them would.
 */
import { publishConversationUpdated, publishMembersChanged } from '../conversationEvents/event';
import { badInput, forbidden, notAMember } from '../contract/errors';
import { limits } from '../contract/limits';
import type { Resolvers } from '../generated/graphql';
import { publishLeft } from '../messaging/event';
import { longestStanding } from '../store/control';
import type { AddPolicy, ControlDecision, ConversationRecord, GroupControl, MemberRole } from '../store/store';
import { announce, requireMembership, viewerId } from './access';
import type { Services } from '../app/services';
import type { Context } from './context';
import { printableName } from './validate';

/** A group change, as asked by `actorId`. */
export type GroupAction =
  | { kind: 'update'; addPolicy?: AddPolicy }
  | { kind: 'remove'; userId: string }
  | { kind: 'role'; userId: string; role: MemberRole }
  | { kind: 'leave' };

/** A member's role under `control`; null for a non-member. */
export function roleOf(control: GroupControl, memberIds: readonly string[], userId: string): MemberRole | null {
  if (!memberIds.includes(userId)) return null;
  if (control.ownerId === userId) return 'OWNER';
  return control.adminIds.includes(userId) ? 'ADMIN' : 'MEMBER';
}

/** Refusals that are the arguments' fault rather than the actor's rights. */
const NOT_A_MEMBER = 'not-a-member';

/** The rules of the contract's header, as a decision on the group's current control. */
export function decide(actorId: string, action: GroupAction): ControlDecision {
  return ({ control, memberIds, memberships }) => {
    const actor = roleOf(control, memberIds, actorId);
    if (actor === null) return { refused: NOT_A_MEMBER };
    const { ownerId, addPolicy } = control;
    const admins = control.adminIds;
    if (action.kind === 'leave') {
      const rest = longestStanding(memberIds, memberships).filter((id) => id !== actorId);
      const heir = actor !== 'OWNER' ? ownerId : (rest.find((id) => admins.includes(id)) ?? rest[0] ?? null);
      return {
        control: { ownerId: heir, adminIds: admins.filter((id) => id !== actorId && id !== heir), addPolicy },
        removeId: actorId,
      };
    }
    if (actor === 'MEMBER') return { refused: 'Only the owner and admins can do this.' };
    if (action.kind === 'update')
      return { control: { ownerId, adminIds: admins, addPolicy: action.addPolicy ?? addPolicy } };
    const target = roleOf(control, memberIds, action.userId);
    if (target === null) return { refused: NOT_A_MEMBER };
    if (action.userId === actorId) {
      return { refused: action.kind === 'remove' ? 'Leave the group instead.' : 'You cannot change your own role.' };
    }
    if (action.kind === 'remove') {
      if (target === 'OWNER') return { refused: 'The owner cannot be removed.' };
      if (target === 'ADMIN' && actor !== 'OWNER') return { refused: 'Admins cannot remove admins.' };
      return {
        control: { ownerId, adminIds: admins.filter((id) => id !== action.userId), addPolicy },
        removeId: action.userId,
      };
    }
    if (actor !== 'OWNER' && (target !== 'MEMBER' || action.role === 'OWNER')) {
      return { refused: 'Admins can only make members admins.' };
    }
    const others = admins.filter((id) => id !== action.userId);
    switch (action.role) {
      case 'OWNER':
        return { control: { ownerId: action.userId, adminIds: [...others, actorId], addPolicy } };
      case 'ADMIN':
        return { control: { ownerId, adminIds: [...others, action.userId], addPolicy } };
      case 'MEMBER':
        return { control: { ownerId, adminIds: others, addPolicy } };
    }
  };
}

/** Applies a group change for the viewer; the group after it, or the error the rules give. */
async function change(ctx: Context, conversation: ConversationRecord, action: GroupAction) {
  const outcome = await ctx.services.store.conversations.changeControl(conversation.id, decide(viewerId(ctx), action));
  ctx.loaders.conversations.clear(conversation.id);
  ctx.loaders.groupControls.clear(conversation.id);
  ctx.loaders.readPositions.clear(conversation.id);
  switch (outcome.status) {
    case 'ok':
      ctx.loaders.groupControls.prime(conversation.id, outcome.control);
      return outcome.conversation;
    case 'refused':
      if (outcome.reason !== NOT_A_MEMBER) throw forbidden(outcome.reason);
      if (action.kind === 'remove' || action.kind === 'role') throw badInput('userId', 'is not a member of this group');
      throw notAMember();
    case 'missing':
      throw notAMember();
    case 'not-a-group':
      throw badInput('conversationId', 'only a group has roles');
  }
}

/** Tells the one who left or was removed, and the members who stay. */
export async function announceLeaving(
  ctx: { services: Pick<Services, 'pubsub' | 'log'> },
  after: ConversationRecord,
  leftId: string,
): Promise<void> {
  const { pubsub } = ctx.services;
  // Stored: a lost publish is made up by the membership check of the streams' next catch-up.
  await announce(ctx, `leaving ${after.id}`, () => publishLeft(pubsub, leftId, after.id));
  await announce(ctx, `members of ${after.id}`, () =>
    publishMembersChanged(pubsub, after.memberIds, after.id, { joinedIds: [], leftIds: [leftId] }),
  );
}

/**
 * `userId` leaves a group (leaveConversation, an account's deletion, which
 * has no request of its own), handing ownership on if they owned it. False
 * if they were not a member (left already).
 */
export async function leaveGroup(
  ctx: { services: Pick<Services, 'store' | 'pubsub' | 'log'> },
  userId: string,
  conversation: ConversationRecord,
): Promise<boolean> {
  const outcome = await ctx.services.store.conversations.changeControl(
    conversation.id,
    decide(userId, { kind: 'leave' }),
  );
  if (outcome.status !== 'ok') return false;
  await announceLeaving(ctx, outcome.conversation, userId);
  return true;
}

export const groupResolvers: Resolvers = {
  Mutation: {
    updateGroup: async (_parent, { conversationId, title, addPolicy }, ctx) => {
      const { conversation } = await requireMembership(ctx, conversationId);
      const name = title == null ? null : printableName('title', title, limits.groupTitleMax);
      const after = await change(ctx, conversation, { kind: 'update', addPolicy: addPolicy ?? undefined });
      if (name !== null) await ctx.services.store.conversations.setTitle(conversation.id, name);
      const updated = name === null ? after : { ...after, title: name };
      await announce(ctx, `the update of ${conversation.id}`, () =>
        publishConversationUpdated(ctx.services.pubsub, updated.memberIds, conversation.id),
      );
      return updated;
    },

    removeGroupMember: async (_parent, { conversationId, userId }, ctx) => {
      const { conversation } = await requireMembership(ctx, conversationId);
      if (conversation.kind === 'ENCRYPTED') {
        throw badInput('conversationId', "commit the removal of the member's devices with sendMlsMessage");
      }
      const after = await change(ctx, conversation, { kind: 'remove', userId });
      await announceLeaving(ctx, after, userId);
      return after;
    },

    setMemberRole: async (_parent, { conversationId, userId, role }, ctx) => {
      const { conversation } = await requireMembership(ctx, conversationId);
      const after = await change(ctx, conversation, { kind: 'role', userId, role });
      await announce(ctx, `the roles of ${conversation.id}`, () =>
        publishConversationUpdated(ctx.services.pubsub, after.memberIds, conversation.id),
      );
      return after;
    },
  },

  Conversation: {
    memberships: async (c, _args, ctx) => {
      const [control, memberships, users] = await Promise.all([
        c.kind !== 'DIRECT' ? ctx.loaders.groupControls.load(c.id) : null,
        ctx.loaders.readPositions.load(c.id),
        ctx.loaders.users.loadMany(c.memberIds),
      ]);
      const joined = new Map(memberships.map((m) => [m.userId, m.joinedAt]));
      return c.memberIds.flatMap((id, i) => {
        const user = users[i];
        if (!user || user instanceof Error) return [];
        const role = control ? roleOf(control, c.memberIds, id) : null;
        return [{ user, role, joinedAt: joined.get(id) ?? c.createdAt }];
      });
    },
    viewerRole: async (c, _args, ctx) => {
      if (c.kind === 'DIRECT') return null;
      const control = await ctx.loaders.groupControls.load(c.id);
      return control ? roleOf(control, c.memberIds, viewerId(ctx)) : null;
    },
    addPolicy: async (c, _args, ctx) =>
      c.kind !== 'DIRECT' ? ((await ctx.loaders.groupControls.load(c.id))?.addPolicy ?? null) : null,
  },

  ConversationUpdated: {
    conversation: async (event, _args, ctx) => {
      const conversation = await ctx.loaders.conversations.load(event.conversationId);
      if (!conversation) throw new Error(`conversation ${event.conversationId} is gone`);
      return conversation;
    },
  },
};
