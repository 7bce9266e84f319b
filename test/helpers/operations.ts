/** Operations that several test files send, written once. */

export const ADD_FRIEND = 'mutation($u: ID!) { addFriend(userId: $u) { id } }';
export const REMOVE_FRIEND = 'mutation($u: ID!) { removeFriend(userId: $u) }';
export const OPEN_DIRECT = 'mutation($u: ID!) { openDirectConversation(userId: $u) { id } }';
export const CREATE_GROUP = 'mutation($t: String!, $m: [ID!]!) { createGroup(title: $t, memberIds: $m) { id } }';
export const LEAVE = 'mutation($c: ID!) { leaveConversation(conversationId: $c) }';
export const SEND = 'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { id seq } }';
export const MESSAGE_ADDED_IDS = 'subscription { messageAdded { id } }';
export const MESSAGE_ADDED_AFTER =
  'subscription($c: ID, $after: ID) { messageAdded(conversationId: $c, after: $after) { id seq content } }';
export const PRESENCE_CHANGED = 'subscription { presenceChanged { userId status lastActiveAt } }';
export const PRESENCE = 'query($ids: [ID!]!) { presence(userIds: $ids) { userId status lastActiveAt } }';
export const LOG_IN = 'mutation($u: String!, $p: String!) { logIn(username: $u, password: $p) { token } }';
export const MESSAGE_ADDED_IN = 'subscription($c: ID) { messageAdded(conversationId: $c) { id } }';

/* Conversation events, reactions, edits and blocking. */

/** Every conversation event, with what each kind carries. */
export const CONVERSATION_EVENT = `subscription($c: ID) {
  conversationEvent(conversationId: $c) {
    __typename
    ... on TypingChanged { conversationId typing user { id } }
    ... on MessageUpdated { message { id seq content editedAt deletedAt reactions { emoji count reactedByViewer } } }
    ... on ReadPositionChanged { conversationId position { user { id } lastReadSeq lastReadMessageId } }
    ... on MembersChanged { conversation { id } joined { id } left { id } }
  }
}`;
export const SET_TYPING = 'mutation($c: ID!, $t: Boolean!) { setTyping(conversationId: $c, typing: $t) }';
export const MARK_READ = 'mutation($c: ID!, $m: ID!) { markRead(conversationId: $c, messageId: $m) { id } }';
export const ADD_MEMBERS = 'mutation($c: ID!, $u: [ID!]!) { addGroupMembers(conversationId: $c, userIds: $u) { id } }';
const MESSAGE_FIELDS = 'id seq content editedAt deletedAt reactions { emoji count reactedByViewer }';
export const EDIT = `mutation($m: ID!, $t: String!) { editMessage(messageId: $m, content: $t) { ${MESSAGE_FIELDS} } }`;
export const DELETE = `mutation($m: ID!) { deleteMessage(messageId: $m) { ${MESSAGE_FIELDS} } }`;
export const REACT = `mutation($m: ID!, $e: String!) { addReaction(messageId: $m, emoji: $e) { ${MESSAGE_FIELDS} } }`;
export const UNREACT = `mutation($m: ID!, $e: String!) { removeReaction(messageId: $m, emoji: $e) { ${MESSAGE_FIELDS} } }`;
export const HISTORY = `query($c: ID!) { messages(conversationId: $c, first: 100) { edges { node { ${MESSAGE_FIELDS} } } } }`;
export const BLOCK = 'mutation($u: ID!) { blockUser(userId: $u) }';
export const UNBLOCK = 'mutation($u: ID!) { unblockUser(userId: $u) }';
export const BLOCKED = 'query { blockedUsers { id } }';
