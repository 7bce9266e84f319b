/** The message event: how a stored message travels to its members' channels, and back. */
import type { PubSub } from '../pubsub/pubsub';
import type { MessageEvent } from '../pubsub/topics';
import type { MessageRecord } from '../store/store';

// The wire shape and the record must keep the same fields: adding one to either fails to compile here.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
const sameFields: SameKeys<MessageEvent, MessageRecord> = true;
void sameFields;

/** A message as it is published on members' channels. */
export function toMessageEvent(message: MessageRecord): MessageEvent {
  return { ...message, createdAt: message.createdAt.toISOString() };
}

/** A published message back as a record. */
export function fromMessageEvent(event: MessageEvent): MessageRecord {
  return { ...event, createdAt: new Date(event.createdAt) };
}

/**
 * Publishes a stored message on the channel of each member. Resolves once
 * every publish has settled, with the first failure if any: the message is
 * stored either way, and subscribers recover a lost publish by their gap reads.
 */
export async function publishMessage(
  pubsub: PubSub,
  memberIds: readonly string[],
  message: MessageRecord,
): Promise<{ failure: unknown } | null> {
  const event = toMessageEvent(message);
  const published = await Promise.allSettled(memberIds.map((id) => pubsub.publish('messageAdded', id, event)));
  const failed = published.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  return failed ? { failure: failed.reason } : null;
}

/** Tells the user's open message streams that they left a conversation: those following it end. */
export async function publishLeft(pubsub: PubSub, userId: string, conversationId: string): Promise<void> {
  await pubsub.publish('messageAdded', userId, { leftConversationId: conversationId });
}
