/**
 * Conversation events other than new messages (typing, edits and deletions,
 * reactions, read positions, members): the records the API resolves, their
 * wire form on each member's `conversationEvent` channel, and publishing.
 */
import { toMessageEvent, fromMessageEvent } from '../messaging/event';
import type { PubSub } from '../pubsub/pubsub';
import type { ConversationEventWire } from '../pubsub/topics';
import type { MessageRecord, ReadPositionRecord } from '../store/store';

/** A member started or stopped typing. */
export interface TypingChangedRecord {
  kind: 'TypingChanged';
  conversationId: string;
  userId: string;
  typing: boolean;
}

/** A message was edited or deleted, or its reactions changed: its state now. */
export interface MessageUpdatedRecord {
  kind: 'MessageUpdated';
  message: MessageRecord;
}

/** A member's read position moved forward. */
export interface ReadPositionChangedRecord {
  kind: 'ReadPositionChanged';
  conversationId: string;
  position: ReadPositionRecord;
}

/** Members joined or left a group. */
export interface MembersChangedRecord {
  kind: 'MembersChanged';
  conversationId: string;
  joinedIds: string[];
  leftIds: string[];
}

/** A group's title, add policy or roles changed: read it again. */
export interface ConversationUpdatedRecord {
  kind: 'ConversationUpdated';
  conversationId: string;
}

/** One event of the `ConversationEvent` union. */
export type ConversationEventRecord =
  | TypingChangedRecord
  | MessageUpdatedRecord
  | ReadPositionChangedRecord
  | MembersChangedRecord
  | ConversationUpdatedRecord;

/** The conversation an event on the wire belongs to. */
export function conversationOf(wire: ConversationEventWire): string {
  return wire.type === 'messageUpdated' ? wire.message.conversationId : wire.conversationId;
}

/** An event as received back as a record (messages shared by their local subscribers, as new ones are). */
export function fromWire(wire: ConversationEventWire): ConversationEventRecord {
  switch (wire.type) {
    case 'typing':
      return { kind: 'TypingChanged', conversationId: wire.conversationId, userId: wire.userId, typing: wire.typing };
    case 'messageUpdated':
      return { kind: 'MessageUpdated', message: fromMessageEvent(wire.message) };
    case 'readPosition':
      return {
        kind: 'ReadPositionChanged',
        conversationId: wire.conversationId,
        position: {
          conversationId: wire.conversationId,
          userId: wire.userId,
          lastReadSeq: wire.lastReadSeq,
          lastReadMessageId: wire.lastReadMessageId,
        },
      };
    case 'membersChanged':
      return {
        kind: 'MembersChanged',
        conversationId: wire.conversationId,
        joinedIds: wire.joinedIds,
        leftIds: wire.leftIds,
      };
    case 'conversationUpdated':
      return { kind: 'ConversationUpdated', conversationId: wire.conversationId };
  }
}

/** Publishes typing (or its end) to the other members. Not stored. */
export function publishTyping(
  pubsub: PubSub,
  memberIds: readonly string[],
  conversationId: string,
  userId: string,
  typing: boolean,
): Promise<void> {
  const others = memberIds.filter((id) => id !== userId);
  return pubsub.publish('conversationEvent', others, { type: 'typing', conversationId, userId, typing });
}

/** Publishes a changed message to the members. */
export function publishMessageUpdated(pubsub: PubSub, memberIds: readonly string[], message: MessageRecord) {
  return pubsub.publish('conversationEvent', memberIds, { type: 'messageUpdated', message: toMessageEvent(message) });
}

/** Publishes a member's new read position to the members (their own other devices too). */
export function publishReadPosition(pubsub: PubSub, memberIds: readonly string[], position: ReadPositionRecord) {
  if (position.lastReadMessageId === null) return Promise.resolve();
  return pubsub.publish('conversationEvent', memberIds, {
    type: 'readPosition',
    conversationId: position.conversationId,
    userId: position.userId,
    lastReadSeq: position.lastReadSeq,
    lastReadMessageId: position.lastReadMessageId,
  });
}

/** Publishes that a group's title, add policy or roles changed, to its members. */
export function publishConversationUpdated(pubsub: PubSub, memberIds: readonly string[], conversationId: string) {
  return pubsub.publish('conversationEvent', memberIds, { type: 'conversationUpdated', conversationId });
}

/** Publishes who joined and who left to the members after the change (those who joined included). */
export function publishMembersChanged(
  pubsub: PubSub,
  memberIds: readonly string[],
  conversationId: string,
  change: { joinedIds: string[]; leftIds: string[] },
) {
  return pubsub.publish('conversationEvent', memberIds, { type: 'membersChanged', conversationId, ...change });
}
