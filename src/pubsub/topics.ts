/** Every topic of the pub/sub and the JSON event it carries: the wire format between processes. */
import type { MlsPayloadRecord } from '../store/records';

/**
 * A message as it travels on a user's channel: the stored message's fields,
 * its time as ISO-8601 (messaging/event.ts encodes and decodes it, and checks
 * that the two shapes keep the same fields).
 */
export interface MessageEvent {
  id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  content: string;
  clientMessageId: string | null;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
  reactions: { emoji: string; userIds: string[] }[];
  /** Absent in events of processes from before replies (a rolling upgrade): none. */
  replyToId?: string | null;
  /** Absent in events of processes from before mentions: none. */
  mentionIds?: string[];
  /** Absent in events of processes from before attachments: none. */
  attachmentIds?: string[];
  /** Absent in events of processes from before encrypted conversations: none. */
  mls?: MlsPayloadRecord | null;
}

/** On a user's message channel: they left this conversation, so their streams stop following it. */
export interface LeftConversationEvent {
  leftConversationId: string;
}

/**
 * On a user's conversation-event channel: something other than a new message
 * happened in one of their conversations (conversationEvent).
 */
export type ConversationEventWire =
  | { type: 'typing'; conversationId: string; userId: string; typing: boolean }
  | { type: 'messageUpdated'; message: MessageEvent }
  | { type: 'readPosition'; conversationId: string; userId: string; lastReadSeq: number; lastReadMessageId: string }
  | { type: 'membersChanged'; conversationId: string; joinedIds: string[]; leftIds: string[] }
  | { type: 'conversationUpdated'; conversationId: string };

/** A user's presence as it travels on a friend pair's channel. */
export interface PresenceEvent {
  userId: string;
  status: 'ONLINE' | 'OFFLINE';
  /** ISO-8601, or null if never active. */
  lastActiveAt: string | null;
}

/** On a user's control channel: their mutual friends may have changed (with `friendId`). */
export interface FriendsChangedEvent {
  friendId: string;
}

/**
 * On the one broadcast channel: a session ended (logOut, revokeSession, a
 * spent refresh token reused), or a token from before sessions was revoked;
 * their WebSocket connections are closed.
 */
export interface TokenRevokedEvent {
  /** The revocation key: `session:<id>` for a whole session, else one token's id. */
  tokenId: string;
  userId: string;
}

/** Every topic and the event it carries. */
export interface Topics {
  /** A user's channel: messages of their conversations, and word of conversations they left. */
  messageAdded: MessageEvent | LeftConversationEvent;
  /** A user's channel of conversation events other than new messages. */
  conversationEvent: ConversationEventWire;
  presenceChanged: PresenceEvent;
  friendsChanged: FriendsChangedEvent;
  /** Keyed `all`: every process listens. */
  tokenRevoked: TokenRevokedEvent;
}

/** A topic's name. */
export type Topic = keyof Topics;
