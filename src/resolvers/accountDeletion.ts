/**
 * An account's deletion, step by step. deleteAccount stores a deletion record
 * and runs the steps; should the process die half-way, the record is still
 * unfinished, and the start-up sweep of the next process to start (or the
 * owner's retry, while their session lives) runs every step again. Each step
 * is idempotent, so running one twice, or in two processes at once, is
 * harmless. It lives beside the resolvers because it leaves groups the way
 * leaveConversation does (`leaveGroup`).
 */
import type { Services } from '../app/services';
import { publishMessageUpdated } from '../conversationEvents/event';
import { exportKeyOf } from '../dataExport/export';
import { publishFriendsChanged } from '../presence/events';
import { leaveGroup } from './groups';

/** The display name a deleted account is left with. */
export const DELETED_USER_NAME = 'Deleted user';

/** Messages erased per step. */
const MESSAGES_PER_STEP = 100;

/** Unfinished deletions a start-up sweep takes on. */
const SWEEP_MAX = 1000;

/** The process is stopping: the deletion is left for the next start. */
class DeletionStopped extends Error {
  constructor() {
    super('account deletion stopped: the process is stopping');
  }
}

/** One process's deletions in progress. */
interface Deletions {
  running: Map<string, Promise<void>>;
  stopped: boolean;
  /** Steps done by this process, for `afterDeletionStep`. */
  steps: number;
}

const byServices = new WeakMap<Services, Deletions>();

function deletionsOf(services: Services): Deletions {
  let d = byServices.get(services);
  if (!d) byServices.set(services, (d = { running: new Map(), stopped: false, steps: 0 }));
  return d;
}

/**
 * Runs every step of the user's deletion (whose record is stored) and marks it
 * finished. A deletion of the same user running in this process already is
 * joined, not run twice.
 */
export function runAccountDeletion(services: Services, userId: string): Promise<void> {
  const d = deletionsOf(services);
  let run = d.running.get(userId);
  if (!run) {
    run = deleteAccountSteps(services, d, userId).finally(() => d.running.delete(userId));
    d.running.set(userId, run);
  }
  return run;
}

async function deleteAccountSteps(services: Services, d: Deletions, userId: string): Promise<void> {
  const { store, sessions, pubsub, log, now, metrics } = services;
  const done = () => {
    if (d.stopped) throw new DeletionStopped();
    services.afterDeletionStep?.(++d.steps);
  };
  const warnOnFailure = (what: string) => (error: unknown) => log.warn(`account deletion: ${what} failed`, error);

  // First: from now on the account shows as deleted, and can neither log in nor act.
  await store.users.markDeleted(userId, now(), DELETED_USER_NAME);
  done();
  // Its connections are closed with 4401 on every process (tokenRevoked), which ends its presence.
  await sessions.endAll(userId, 'deleted');
  done();
  await store.pushTokens.unregisterAll(userId);
  await services.media.delete([exportKeyOf(userId)]);
  done();
  for (const friendId of await store.friends.listMutual(userId)) {
    await store.friends.remove(userId, friendId);
    await publishFriendsChanged(pubsub, userId, friendId).catch(warnOnFailure('friends-changed publish'));
  }
  done();
  // Before leaving the groups: their members are who hear of each message's erasure.
  for (;;) {
    const batch = await store.messages.listUndeletedBySender(userId, MESSAGES_PER_STEP);
    if (batch.length === 0) break;
    const conversationIds = [...new Set(batch.map((m) => m.conversationId))];
    const conversations = await store.conversations.getMany(conversationIds);
    const membersOf = new Map(conversationIds.map((id, i) => [id, conversations[i]?.memberIds ?? []]));
    let erased = 0;
    for (const message of batch) {
      const change = await store.messages.delete(message.id, now());
      if (change.status !== 'ok') continue;
      erased++;
      await publishMessageUpdated(pubsub, membersOf.get(message.conversationId)!, change.message).catch(
        warnOnFailure(`publish of the erasure of message ${message.id}`),
      );
    }
    if (erased === 0) throw new Error(`account deletion of ${userId}: messages listed as not deleted cannot be erased`);
    done();
  }
  for (const conversation of await store.conversations.listAllForUser(userId)) {
    if (conversation.kind !== 'DIRECT') await leaveGroup({ services }, userId, conversation);
  }
  done();
  await store.deletions.finish(userId, now());
  metrics.accountDeletions.inc();
  log.info('account deleted', { userId });
}

/**
 * Finishes the deletions that an earlier process started and did not finish
 * (it died half-way). Run in the background at every start; failures are
 * logged and left for the next start.
 */
export async function resumeAccountDeletions(services: Services): Promise<void> {
  const unfinished = await services.store.deletions.listUnfinished(SWEEP_MAX);
  for (const { userId } of unfinished) {
    if (deletionsOf(services).stopped) return;
    services.log.info('account deletion: resuming an unfinished one', { userId });
    await runAccountDeletion(services, userId).catch((error: unknown) => {
      if (!(error instanceof DeletionStopped)) services.log.warn(`account deletion of ${userId} failed`, error);
    });
  }
}

/** Stops this process's deletions between two steps, and waits for them: the next start finishes them. */
export async function stopAccountDeletions(services: Services): Promise<void> {
  const d = deletionsOf(services);
  d.stopped = true;
  await Promise.allSettled(d.running.values());
}
