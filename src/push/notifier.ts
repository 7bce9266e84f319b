import type { Logger } from '../lib/log';
import { foldWhitespace, truncateCodePoints } from '../lib/text';
import type { PresenceTracker } from '../presence/presence';
import type { ConversationRecord, MessageRecord, Store } from '../store/store';

/** One notification for up to `MAX_TOKENS_PER_MULTICAST` devices. */
export interface PushMulticast {
  tokens: string[];
  title: string;
  body: string;
  data: Record<string, string>;
}

/** What became of one token of a multicast. */
export type PushOutcome =
  | { token: string; ok: true }
  | { token: string; ok: false; unregistered: boolean; error: string };

/** Sends notifications; FCM in production (fcm.ts), a recording fake in tests. */
export interface PushSender {
  sendMulticast(message: PushMulticast): Promise<PushOutcome[]>;
}

/** FCM accepts at most this many tokens in one multicast. */
export const MAX_TOKENS_PER_MULTICAST = 500;
/** Longer message previews are cut here (code points). */
export const PREVIEW_MAX = 140;

/** What a message carries besides its content, as far as its preview goes. */
export interface PreviewAttachment {
  kind: 'IMAGE' | 'VIDEO' | 'AUDIO' | 'FILE';
  fileName: string;
}

/**
 * The preview of a message: whitespace folded, cut at PREVIEW_MAX code points with an ellipsis.
 * A message with no text but attachments says what its first one is: "📷 Photo" for an image,
 * "📎 <file name>" otherwise.
 */
export function previewOf(content: string, firstAttachment: PreviewAttachment | null = null): string {
  const text = foldWhitespace(content);
  if (text.length === 0 && firstAttachment) {
    const label = firstAttachment.kind === 'IMAGE' ? '📷 Photo' : `📎 ${firstAttachment.fileName}`;
    return truncateCodePoints(label, PREVIEW_MAX);
  }
  return truncateCodePoints(text, PREVIEW_MAX);
}

/** The first attachment of a message, for its preview; null when it has none (or it is gone). */
async function firstAttachmentOf(store: Store, message: MessageRecord): Promise<PreviewAttachment | null> {
  if (message.attachmentIds.length === 0) return null;
  const [upload] = await store.uploads.getMany(message.attachmentIds.slice(0, 1));
  return upload?.completion ? { kind: upload.completion.kind, fileName: upload.fileName } : null;
}

/** Options of `createPushNotifier`. */
export interface PushNotifierOptions {
  store: Store;
  presence: PresenceTracker;
  /** Null: push is off. */
  sender: PushSender | null;
  log: Logger;
  /** Messages waiting to be pushed; more are dropped (and logged). @default 1000 */
  maxPending?: number;
  /** Messages pushed at the same time. @default 4 */
  concurrency?: number;
  /** A multicast that takes longer counts as failed. @default 10000 */
  sendTimeoutMs?: number;
}

/** Pushes new messages to members with no ONLINE device, in the background. */
export interface PushNotifier {
  /** Queues a stored message; returns at once. */
  notify(message: MessageRecord, conversation: ConversationRecord): void;
  /** Drops what is queued and accepts nothing more; sends in flight finish or time out. */
  close(): void;
}

/**
 * A bounded queue worked by a fixed number of workers: a slow or failing FCM
 * costs at most `maxPending` queued messages and `concurrency` sends in
 * flight, each cut off after `sendTimeoutMs`. Nothing here can delay or fail
 * `sendMessage`.
 */
export function createPushNotifier(options: PushNotifierOptions): PushNotifier {
  const { store, presence, sender, log, maxPending = 1000, concurrency = 4, sendTimeoutMs = 10_000 } = options;
  const queue: { message: MessageRecord; conversation: ConversationRecord }[] = [];
  let active = 0;
  let dropped = 0;
  let closed = false;

  function withTimeout<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`push send timed out after ${sendTimeoutMs}ms`)), sendTimeoutMs);
      // A send still hanging when the process stops must not keep it alive.
      timer.unref();
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * The members a message may push to: all but the sender and those who muted
   * the conversation, unless it mentions them or replies to their message.
   * One read of the memberships, before presence and tokens are looked at.
   */
  async function recipientsOf(message: MessageRecord, conversation: ConversationRecord): Promise<string[]> {
    const others = conversation.memberIds.filter((id) => id !== message.senderId);
    if (others.length === 0) return [];
    const [memberships, original] = await Promise.all([
      store.conversations.getMemberships(others.map((userId) => ({ conversationId: conversation.id, userId }))),
      message.replyToId ? store.messages.getMany([message.replyToId]).then(([m]) => m) : null,
    ]);
    const called = new Set(message.mentionIds);
    if (original && !original.deletedAt) called.add(original.senderId);
    const now = Date.now();
    return others.filter((id, i) => {
      const until = memberships[i]?.mutedUntil;
      return !until || until.getTime() <= now || called.has(id);
    });
  }

  async function push(message: MessageRecord, conversation: ConversationRecord, send: PushSender): Promise<void> {
    const recipients = await recipientsOf(message, conversation);
    if (recipients.length === 0) return;
    const offline = (await presence.get(recipients)).filter((p) => p.status === 'OFFLINE').map((p) => p.userId);
    if (offline.length === 0) return;
    const tokens = await store.pushTokens.listForUsers(offline);
    if (tokens.length === 0) return;
    const [senderUser] = await store.users.getMany([message.senderId]);
    const name = senderUser?.displayName ?? 'Someone';
    const title = conversation.kind !== 'DIRECT' && conversation.title ? `${name} in ${conversation.title}` : name;
    // An encrypted message's push says only that there is one: the server cannot read it, and says no more.
    const body = message.mls ? 'New message' : previewOf(message.content, await firstAttachmentOf(store, message));
    const data = { conversationId: message.conversationId, messageId: message.id, seq: String(message.seq) };
    const owner = new Map(tokens.map((t) => [t.token, t.userId]));
    const all = [...owner.keys()];
    for (let i = 0; i < all.length; i += MAX_TOKENS_PER_MULTICAST) {
      const batch = all.slice(i, i + MAX_TOKENS_PER_MULTICAST);
      try {
        const outcomes = await withTimeout(send.sendMulticast({ tokens: batch, title, body, data }));
        const gone = outcomes.filter((o) => !o.ok && o.unregistered);
        await Promise.all(gone.map((o) => store.pushTokens.unregister(owner.get(o.token)!, o.token)));
        const failed = outcomes.filter((o) => !o.ok && !o.unregistered).length;
        if (failed > 0) log.warn(`push for message ${message.id}: ${failed} of ${batch.length} tokens failed`);
      } catch (error) {
        log.warn(`push for message ${message.id} failed`, error);
      }
    }
  }

  function work(): void {
    while (active < concurrency && queue.length > 0 && sender) {
      const job = queue.shift()!;
      active++;
      push(job.message, job.conversation, sender)
        .catch((error) => log.warn(`push for message ${job.message.id} failed`, error))
        .finally(() => {
          active--;
          work();
        });
    }
  }

  return {
    notify(message, conversation) {
      if (!sender || closed) return;
      if (queue.length >= maxPending) {
        // Once per hundred, so that an FCM outage does not flood the log either.
        if (dropped++ % 100 === 0)
          log.warn(`push queue full (${maxPending}): dropping notifications (${dropped} so far)`);
        return;
      }
      queue.push({ message, conversation });
      work();
    },
    close() {
      closed = true;
      queue.length = 0;
    },
  };
}
