import { badInput, forbidden, notAMember } from '../contract/errors';
import { limits } from '../contract/limits';
import type { Resolvers } from '../generated/graphql';
import { publishMembersChanged, publishReadPosition } from '../conversationEvents/event';
import type { ConversationPosition } from '../store/store';
import {
  announce,
  requireMembership,
  requireNoBlock,
  requireNotBlockedBy,
  requireUsers,
  requireViewer,
  spend,
  viewerId,
} from './access';
import { leaveGroup, roleOf } from './groups';
import { usersOf } from './users';
import { connection } from './connection';
import { distinct, pageSize, printableName } from './validate';

/** The opaque cursor of a conversation's place in the viewer's list. */
export function encodeConversationCursor(c: ConversationPosition): string {
  return Buffer.from(`${c.lastActivityAt.getTime()}:${c.id}`).toString('base64url');
}

/** The position a cursor names, or null when it is not one of ours. */
export function decodeConversationCursor(cursor: string): ConversationPosition | null {
  const match = /^(\d{1,15}):(\d{1,20})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) return null;
  return { lastActivityAt: new Date(Number(match[1])), id: match[2]! };
}

function groupTooLarge(field: string, size: number) {
  return badInput(
    field,
    `a group has at most ${limits.groupMax} members, the creator included (this would be ${size})`,
  );
}

function checkGroupSize(field: string, size: number): void {
  if (size > limits.groupMax) throw groupTooLarge(field, size);
}

/** Conversations: listing, direct and group creation, membership, read positions. */
export const conversationResolvers: Resolvers = {
  Query: {
    conversations: async (_parent, { first, after }, ctx) => {
      const viewer = await requireViewer(ctx);
      const size = pageSize('first', first) ?? 20;
      const position = after ? decodeConversationCursor(after) : undefined;
      if (position === null) throw badInput('after', 'not a cursor of this list');
      const rows = await ctx.services.store.conversations.listForUser(viewer.id, { first: size + 1, after: position });
      const nodes = rows.slice(0, size);
      for (const node of nodes) ctx.loaders.conversations.prime(node.id, node);
      return connection(nodes, encodeConversationCursor, {
        hasPreviousPage: position !== undefined,
        hasNextPage: rows.length > size,
      });
    },

    conversation: async (_parent, { id }, ctx) => (await requireMembership(ctx, id)).conversation,
  },

  Mutation: {
    openDirectConversation: async (_parent, { userId }, ctx) => {
      const viewer = await requireViewer(ctx);
      if (userId === viewer.id) throw badInput('userId', 'a direct conversation needs another user');
      await requireUsers(ctx, [userId]);
      await requireNoBlock(ctx, viewer.id, userId, 'have a direct conversation with them');
      const { store, ids, now } = ctx.services;
      return store.conversations.findOrCreateDirect({ id: ids.next(), userIds: [viewer.id, userId], createdAt: now() });
    },

    createGroup: async (_parent, { title, memberIds }, ctx) => {
      const viewer = await requireViewer(ctx);
      await spend(ctx, ctx.services.limiters.groups, viewer.id);
      const name = printableName('title', title, limits.groupTitleMax);
      const members = distinct([viewer.id, ...memberIds]);
      checkGroupSize('memberIds', members.length);
      await requireUsers(ctx, members);
      await requireNotBlockedBy(ctx, viewer.id, members);
      const { store, ids, now } = ctx.services;
      return store.conversations.createGroup({ id: ids.next(), title: name, memberIds: members, createdAt: now() });
    },

    addGroupMembers: async (_parent, { conversationId, userIds }, ctx) => {
      const { viewer, conversation } = await requireMembership(ctx, conversationId);
      await spend(ctx, ctx.services.limiters.groups, viewer.id);
      if (conversation.kind === 'ENCRYPTED') {
        throw badInput('conversationId', 'devices join an encrypted conversation through MLS commits (sendMlsMessage)');
      }
      if (conversation.kind !== 'GROUP') throw badInput('conversationId', 'members can only be added to a group');
      const control = await ctx.loaders.groupControls.load(conversation.id);
      if (control?.addPolicy === 'ADMINS' && roleOf(control, conversation.memberIds, viewer.id) === 'MEMBER') {
        throw forbidden('Only the owner and admins can add members to this group.');
      }
      const added = distinct(userIds);
      checkGroupSize('userIds', distinct([...conversation.memberIds, ...added]).length);
      await requireUsers(ctx, added);
      await requireNotBlockedBy(ctx, viewer.id, added);
      const result = await ctx.services.store.conversations.addMembers(conversationId, added, limits.groupMax);
      switch (result.status) {
        case 'ok': {
          const after = result.conversation;
          const joinedIds = after.memberIds.filter((id) => !conversation.memberIds.includes(id));
          if (joinedIds.length > 0) {
            await announce(ctx, `members of ${after.id}`, () =>
              publishMembersChanged(ctx.services.pubsub, after.memberIds, after.id, { joinedIds, leftIds: [] }),
            );
          }
          return after;
        }
        case 'too-many':
          throw groupTooLarge('userIds', result.memberCount);
        case 'missing':
          throw notAMember();
        case 'not-a-group':
          throw badInput('conversationId', 'members can only be added to a group');
      }
    },

    leaveConversation: async (_parent, { conversationId }, ctx) => {
      const viewer = await requireViewer(ctx);
      const conversation = await ctx.loaders.conversations.load(conversationId);
      // Not a member, of whatever there is or is not: left already (idempotent), and nothing said about the id.
      if (!conversation?.memberIds.includes(viewer.id)) return true;
      if (conversation.kind === 'DIRECT') throw badInput('conversationId', 'only a group can be left');
      // Through the group's control: an owner who leaves hands the group on (groups.ts). Not a member
      // any more (another device, a removal meanwhile): left already.
      await leaveGroup(ctx, viewer.id, conversation);
      ctx.loaders.conversations.clear(conversationId);
      return true;
    },

    markRead: async (_parent, { conversationId, messageId }, ctx) => {
      const { viewer, conversation } = await requireMembership(ctx, conversationId);
      const message = await ctx.loaders.messages.load(messageId);
      if (!message || message.conversationId !== conversationId) {
        throw badInput('messageId', 'not a message of this conversation');
      }
      const read = await ctx.services.store.conversations.markRead(conversationId, viewer.id, message.seq, message.id);
      ctx.loaders.memberships.clear({ conversationId, userId: viewer.id });
      ctx.loaders.readPositions.clear(conversationId);
      if (!read) return conversation;
      ctx.loaders.memberships.prime({ conversationId, userId: viewer.id }, read.membership);
      if (read.advanced) {
        await announce(ctx, `the read position in ${conversationId}`, () =>
          publishReadPosition(ctx.services.pubsub, conversation.memberIds, read.membership),
        );
      }
      return conversation;
    },
  },

  Conversation: {
    title: (c) => c.title,
    members: (c, _args, ctx) => usersOf(ctx, c.memberIds),
    lastMessage: (c, _args, ctx) => (c.lastMessageId === null ? null : ctx.loaders.messages.load(c.lastMessageId)),
    unreadCount: async (c, _args, ctx) => {
      const userId = viewerId(ctx);
      const membership = await ctx.loaders.memberships.load({ conversationId: c.id, userId });
      if (!membership || membership.lastReadSeq >= c.lastSeq) return 0;
      return ctx.services.store.messages.countUnread(c.id, membership.lastReadSeq, userId);
    },
    lastReadMessageId: async (c, _args, ctx) => {
      const membership = await ctx.loaders.memberships.load({ conversationId: c.id, userId: viewerId(ctx) });
      return membership?.lastReadMessageId ?? null;
    },
    readPositions: (c, _args, ctx) => ctx.loaders.readPositions.load(c.id),
  },

  ReadPosition: {
    user: async (p, _args, ctx) => {
      const user = await ctx.loaders.users.load(p.userId);
      if (!user) throw new Error(`read position names unknown user ${p.userId}`);
      return user;
    },
  },
};
