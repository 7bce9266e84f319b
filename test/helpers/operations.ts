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
