/**
 * What one execution may serve to every subscriber: the subscription fields
 * whose events are the same records for every subscriber, and the fields
 * whose value never depends on who is asking. A subscription that selects
 * only these is executed once per event and process, and its serialised
 * result is written to every subscriber (execution/sharedDelivery.ts).
 *
 * A field that reads the viewer (`User.presence`: only friends see it;
 * `Reaction.reactedByViewer`) must not be listed: a selection that reaches it is executed per subscriber.
 * `__typename` is always shared.
 */
export const viewerIndependentFields: ReadonlySet<string> = new Set([
  'Subscription.messageAdded',
  'Message.id',
  'Message.conversationId',
  'Message.seq',
  'Message.sender',
  'Message.content',
  'Message.clientMessageId',
  'Message.createdAt',
  'Message.editedAt',
  'Message.deletedAt',
  'Message.reactions',
  // The same message and the same members for every member: nothing of the viewer in them.
  'Message.replyTo',
  'Message.mentions',
  // An MLS message is the same bytes for every member (each device decrypts it itself).
  'Message.mls',
  'MlsPayload.kind',
  'MlsPayload.epoch',
  'MlsPayload.message',
  'MlsPayload.welcome',
  'Reaction.emoji',
  'Reaction.count',
  'User.id',
  'User.username',
  'User.displayName',
  'User.deleted',
]);
