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
  return {
    ...message,
    createdAt: message.createdAt.toISOString(),
    editedAt: message.editedAt?.toISOString() ?? null,
    deletedAt: message.deletedAt?.toISOString() ?? null,
  };
}

const dateOrNull = (iso: string | null) => (iso === null ? null : new Date(iso));

/** Records already made of received events: one event object, shared by its local subscribers, is one record. */
const records = new WeakMap<MessageEvent, MessageRecord>();

/**
 * A published message back as a record. Every subscriber of one received
 * event gets the same record object, which lets a shared delivery execute a
 * selection once for all of them; it is never to be modified.
 */
export function fromMessageEvent(event: MessageEvent): MessageRecord {
  let record = records.get(event);
  if (!record) {
    record = {
      ...event,
      createdAt: new Date(event.createdAt),
      editedAt: dateOrNull(event.editedAt),
      deletedAt: dateOrNull(event.deletedAt),
      replyToId: event.replyToId ?? null,
      mentionIds: event.mentionIds ?? [],
      attachmentIds: event.attachmentIds ?? [],
      mls: event.mls ?? null,
    };
    records.set(event, record);
  }
  return record;
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
  try {
    await pubsub.publish('messageAdded', memberIds, toMessageEvent(message));
    return null;
  } catch (failure) {
    return { failure };
  }
}

/** Tells the user's open message streams that they left a conversation: those following it end. */
export async function publishLeft(pubsub: PubSub, userId: string, conversationId: string): Promise<void> {
  await pubsub.publish('messageAdded', userId, { leftConversationId: conversationId });
}
