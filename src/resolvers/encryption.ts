/**
 * End-to-end encrypted conversations: the KeyPackage directory and the MLS
 * Delivery Service (src/mls/ reads the messages' clear parts). The server
 * orders a group's messages (one commit per epoch, across processes: the
 * store's commit key) and keeps the conversation's members equal to the
 * group's users as the commits it accepts change them. It reads no content.
 */
import type { Services } from '../app/services';
import { checkAuth, unknownAccount } from '../auth/session';
import { publishMembersChanged } from '../conversationEvents/event';
import { badInput, conflict, forbidden } from '../contract/errors';
import { limits } from '../contract/limits';
import type { Resolvers } from '../generated/graphql';
import { publishMessage } from '../messaging/event';
import {
  checkWelcome,
  fromBase64,
  inspectKeyPackage,
  inspectMessage,
  MlsInputError,
  type KeyPackageInfo,
  type MessageInfo,
} from '../mls/codec';
import { applyCommit, deviceIdentity, parseIdentity, TreeError, usersOf } from '../mls/tree';
import type {
  ConversationRecord,
  KeyPackageRecord,
  MessageRecord,
  MlsGroupRecord,
  MlsPayloadRecord,
} from '../store/store';
import { announce, requireMembership, requireNotBlockedBy, requireUsers, requireViewer, spend } from './access';
import type { Context } from './context';
import { announceLeaving, decide, roleOf } from './groups';
import { checkClientMessageId, printableName } from './validate';

/** BAD_USER_INPUT for plaintext operations on an encrypted conversation. */
export const encryptedOnly = (field = 'conversationId') =>
  badInput(field, 'the conversation is end-to-end encrypted: send MLS messages with sendMlsMessage');

/** The viewer and the session (device) their token names; MLS needs a session-bound token. */
async function requireDevice(ctx: Context) {
  const viewer = await requireViewer(ctx);
  const { sessionId } = checkAuth(ctx.auth, ctx.services.now());
  if (sessionId === null) throw unknownAccount();
  return { viewer, userId: viewer.id, sessionId, identity: deviceIdentity(viewer.id, sessionId) };
}

/** Runs a decoding step, turning what it refuses into BAD_USER_INPUT on `field`. */
async function decoding<T>(field: string, step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof MlsInputError) throw badInput(field, error.message);
    throw error;
  }
}

const canonical = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** Decodes and checks the KeyPackages of one upload; BAD_USER_INPUT, naming the first refused, before anything is stored. */
async function checkedKeyPackages(
  ctx: Context,
  { userId, sessionId, identity }: { userId: string; sessionId: string; identity: string },
  texts: readonly { text: string; lastResort: boolean }[],
): Promise<KeyPackageRecord[]> {
  const now = ctx.services.now();
  const records = new Map<string, KeyPackageRecord>();
  for (const [i, { text, lastResort }] of texts.entries()) {
    const field = lastResort ? 'lastResort' : `keyPackages[${i}]`;
    const bytes = await decoding(field, () => fromBase64(text, field));
    if (bytes.length > limits.keyPackageBytesMax) throw badInput(field, `at most ${limits.keyPackageBytesMax} bytes`);
    const info: KeyPackageInfo = await decoding(field, () => inspectKeyPackage(bytes));
    if (info.identity !== identity) {
      throw badInput(field, `its credential must be a BasicCredential naming this session: "${identity}"`);
    }
    if (info.notAfter <= now) throw badInput(field, 'has expired');
    if (info.notBefore.getTime() > now.getTime() + 5 * 60_000) throw badInput(field, 'is not valid yet');
    records.set(info.ref, {
      ref: info.ref,
      userId,
      sessionId,
      keyPackage: canonical(bytes),
      lastResort,
      notAfter: info.notAfter,
      createdAt: now,
      claimedAt: null,
    });
  }
  return [...records.values()];
}

/** The live sessions of the users, each once, but the viewer's current one. */
async function devicesOf(ctx: Context, userIds: readonly string[], exceptSessionId: string) {
  const now = ctx.services.now();
  const lists = await Promise.all(userIds.map((id) => ctx.services.store.sessions.listForUser(id)));
  return lists
    .flat()
    .filter((s) => s.endedAt === null && s.refreshExpiresAt > now && s.id !== exceptSessionId)
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}

/**
 * The conversation's MLS group with every stored commit applied: a commit is
 * stored before the group and members follow it, so whoever reads the group
 * finishes any commit that a process stored and did not get to apply.
 */
export async function currentGroup(services: Services, conversationId: string): Promise<MlsGroupRecord> {
  for (let step = 0; ; step++) {
    const [group] = await services.store.mls.getGroups([conversationId]);
    if (!group) throw new Error(`encrypted conversation ${conversationId} has no MLS group`);
    const pending = await services.store.messages.findCommit(conversationId, group.epoch);
    if (!pending || step === 100) return group;
    await applyStoredCommit(services, pending);
  }
}

/**
 * Makes a stored commit's change: members added (their delivery starting at
 * the commit, so that new devices get its Welcome), the commit delivered,
 * members removed, then the epoch moved on. Every step is idempotent, so a
 * commit applied twice (a retry, two readers finishing it) ends the same.
 */
async function applyStoredCommit(services: Services, commit: MessageRecord): Promise<void> {
  const { store, pubsub } = services;
  const mls = commit.mls!;
  const change = mls.change!;
  let [conversation] = await store.conversations.getMany([commit.conversationId]);
  if (!conversation) return;
  const before = conversation.memberIds;
  if (change.addedUserIds.length > 0) {
    const added = await store.conversations.addMembers(
      conversation.id,
      change.addedUserIds,
      limits.groupMax,
      commit.seq - 1,
    );
    if (added.status === 'ok') conversation = added.conversation;
  }
  const failed = await publishMessage(pubsub, [...new Set([...before, ...conversation.memberIds])], commit);
  if (failed) services.log.warn(`publish of commit ${commit.id} failed`, failed.failure);
  const joinedIds = conversation.memberIds.filter((id) => !before.includes(id));
  if (joinedIds.length > 0) {
    const after = conversation;
    await announce({ services }, `members of ${after.id}`, () =>
      publishMembersChanged(pubsub, after.memberIds, after.id, { joinedIds, leftIds: [] }),
    );
  }
  for (const userId of change.removedUserIds) {
    // As if they left: an owner's removal hands the group on.
    const outcome = await store.conversations.changeControl(conversation.id, decide(userId, { kind: 'leave' }));
    if (outcome.status === 'ok') await announceLeaving({ services }, outcome.conversation, userId);
  }
  await store.mls.advance(conversation.id, mls.epoch, change.leaves);
}

/** The members a commit adds and removes, after checking the committer may. */
async function membershipChange(
  ctx: Context,
  conversation: ConversationRecord,
  group: MlsGroupRecord,
  leaves: readonly (string | null)[],
  viewerId: string,
): Promise<{ addedUserIds: string[]; removedUserIds: string[] }> {
  const members = conversation.memberIds;
  const usersBefore = usersOf(group.leaves);
  const usersAfter = usersOf(leaves);
  // Users whose devices the commit adds and who are not members (again, for one who left before their
  // devices' removal was committed): the rules for adding members apply to them.
  const addedUserIds = [...usersOf(leaves.filter((leaf, i) => leaf !== group.leaves[i]))].filter(
    (id) => !members.includes(id),
  );
  const removedUserIds = members.filter((id) => usersBefore.has(id) && !usersAfter.has(id));
  // Devices removed from members who keep others: theirs to remove, or someone's who may remove them.
  const touched = new Set(
    group.leaves.flatMap((leaf, i) => {
      const device = leaf !== null && leaves[i] !== leaf ? parseIdentity(leaf) : null;
      return device && members.includes(device.userId) && device.userId !== viewerId ? [device.userId] : [];
    }),
  );
  const control =
    touched.size > 0 || addedUserIds.length > 0 ? await ctx.loaders.groupControls.load(conversation.id) : null;
  for (const userId of touched) {
    const ruling =
      control && decide(viewerId, { kind: 'remove', userId })({ control, memberIds: members, memberships: [] });
    if (!ruling || 'refused' in ruling) throw forbidden(`You may not remove ${userId}'s devices from this group.`);
  }
  if (addedUserIds.length > 0) {
    if (control?.addPolicy === 'ADMINS' && roleOf(control, members, viewerId) === 'MEMBER') {
      throw forbidden('Only the owner and admins can add members to this group.');
    }
    if (members.length + addedUserIds.length - removedUserIds.length > limits.groupMax) {
      throw badInput('message', `a group has at most ${limits.groupMax} members`);
    }
    await requireUsers(ctx, addedUserIds);
    await requireNotBlockedBy(ctx, viewerId, addedUserIds);
  }
  return { addedUserIds, removedUserIds };
}

/** Checks that each device a commit adds comes with a KeyPackage the directory handed out for it. */
async function checkAdds(ctx: Context, adds: MessageInfo['commit'] & object): Promise<string[]> {
  return Promise.all(
    adds.adds.map(async ({ identity, ref }) => {
      const device = parseIdentity(identity);
      const issued = await ctx.services.store.mls.getKeyPackage(ref);
      const handedOut = issued && (issued.claimedAt !== null || issued.lastResort);
      if (!device || !handedOut || deviceIdentity(issued.userId, issued.sessionId) !== identity) {
        throw badInput(
          'message',
          `adds a KeyPackage (${identity ?? 'no BasicCredential'}) that claimKeyPackages did not hand out`,
        );
      }
      return identity!;
    }),
  );
}

interface Sending {
  ctx: Context;
  conversation: ConversationRecord;
  group: MlsGroupRecord;
  senderId: string;
  identity: string;
  info: MessageInfo;
  message: string;
  welcome: string | null;
  clientId: string | null;
}

async function sendCommit(s: Sending): Promise<MessageRecord> {
  const { ctx, conversation, group, info } = s;
  const commit = info.commit!;
  const epoch = Number(info.epoch);
  if (info.senderLeaf === null) throw badInput('message', 'a commit must come from a member of the group');
  if (group.leaves[info.senderLeaf] !== s.identity) {
    throw forbidden('The commit is signed for a leaf that is not this device.');
  }
  if (epoch < group.epoch) return storedRetry(s, await ctx.services.store.messages.findCommit(conversation.id, epoch));
  if (epoch > group.epoch) throw badInput('message', `is for epoch ${epoch}; the group is at ${group.epoch}`);
  if (commit.others.length > 0)
    throw badInput('message', `proposals of type ${commit.others.join(', ')} are not accepted`);
  if (commit.senderIdentities.some((id) => id !== s.identity)) {
    throw badInput('message', "a commit cannot change its sender's credential");
  }
  const added = await checkAdds(ctx, commit);
  if (added.length > 0 && s.welcome === null) throw badInput('welcome', 'a commit that adds devices needs its Welcome');
  let leaves: (string | null)[];
  try {
    leaves = applyCommit(group.leaves, { removes: commit.removes, adds: added, senderLeaf: info.senderLeaf });
  } catch (error) {
    throw error instanceof TreeError ? badInput('message', error.message) : error;
  }
  const change = { leaves, ...(await membershipChange(ctx, conversation, group, leaves, s.senderId)) };
  const { message, created } = await append(s, {
    kind: 'COMMIT',
    epoch,
    message: s.message,
    welcome: s.welcome,
    change,
  });
  if (!created) return storedRetry(s, message);
  await applyStoredCommit(ctx.services, message);
  ctx.loaders.conversations.clear(conversation.id);
  return message;
}

/** The stored commit when it is this very one sent again (a retry); CONFLICT when another commit won its epoch. */
async function storedRetry({ ctx, conversation, senderId, message }: Sending, stored: MessageRecord | null) {
  if (stored?.senderId === senderId && stored.mls?.message === message) {
    await currentGroup(ctx.services, conversation.id);
    return stored;
  }
  throw conflict('Another commit was accepted for this epoch: process it, then send yours again.');
}

async function sendOther(s: Sending): Promise<MessageRecord> {
  const { ctx, conversation, group, info } = s;
  const epoch = Number(info.epoch);
  if (epoch < group.epoch) {
    throw conflict(`The group is at epoch ${group.epoch}: process the newer commits, then send again.`);
  }
  if (epoch > group.epoch) throw badInput('message', `is for epoch ${epoch}; the group is at ${group.epoch}`);
  if (info.kind === 'PROPOSAL') {
    if (info.senderLeaf === null || group.leaves[info.senderLeaf] !== s.identity) {
      throw forbidden('The proposal is signed for a leaf that is not this device.');
    }
    if (info.proposal?.type === 'add' || info.proposal?.type === 'remove') {
      throw badInput('message', 'Add and Remove proposals go inline in a commit');
    }
    if (info.proposal?.type === 'update' && info.proposal.identity !== s.identity) {
      throw badInput('message', "an Update cannot change its sender's credential");
    }
    if (info.proposal && !['update', 'psk', 'group_context_extensions'].includes(info.proposal.type)) {
      throw badInput('message', `proposals of type ${info.proposal.type} are not accepted`);
    }
  }
  const { message, created } = await append(s, {
    kind: info.kind,
    epoch,
    message: s.message,
    welcome: null,
    change: null,
  });
  const { pubsub, push, log, metrics } = ctx.services;
  const failed = await publishMessage(pubsub, conversation.memberIds, message);
  if (failed) log.warn(`publish of message ${message.id} failed`, failed.failure);
  if (created) metrics.messagesSent.inc();
  if (created && info.kind === 'APPLICATION') push.notify(message, conversation);
  return message;
}

function append({ ctx, conversation, senderId, clientId }: Sending, mls: MlsPayloadRecord) {
  const { store, ids, now } = ctx.services;
  return store.messages.append({
    id: ids.next(),
    conversationId: conversation.id,
    senderId,
    content: '',
    clientMessageId: mls.kind === 'COMMIT' ? null : clientId,
    createdAt: now(),
    mls,
  });
}

export const encryptionResolvers: Resolvers = {
  Query: {
    keyPackageCount: async (_parent, _args, ctx) => {
      const { sessionId } = await requireDevice(ctx);
      return ctx.services.store.mls.countUnclaimed(sessionId, ctx.services.now());
    },
  },

  Mutation: {
    uploadKeyPackages: async (_parent, { keyPackages, lastResort }, ctx) => {
      const device = await requireDevice(ctx);
      if (keyPackages.length > limits.keyPackagesPerSession) {
        throw badInput('keyPackages', `at most ${limits.keyPackagesPerSession} at once`);
      }
      await spend(ctx, ctx.services.limiters.messages, device.userId);
      const texts = keyPackages.map((text) => ({ text, lastResort: false }));
      if (lastResort != null) texts.push({ text: lastResort, lastResort: true });
      const records = await checkedKeyPackages(ctx, device, texts);
      const { mls } = ctx.services.store;
      const result = await mls.addKeyPackages(records, limits.keyPackagesPerSession, ctx.services.now());
      if (result.status === 'too-many') {
        throw badInput('keyPackages', `a session holds at most ${limits.keyPackagesPerSession} unclaimed KeyPackages`);
      }
      return result.unclaimed;
    },

    claimKeyPackages: async (_parent, { userIds }, ctx) => {
      const { viewer, sessionId } = await requireDevice(ctx);
      const ids = [...new Set(userIds)];
      if (ids.length > limits.idListMax) throw badInput('userIds', `at most ${limits.idListMax}`);
      await requireUsers(ctx, ids);
      await requireNotBlockedBy(ctx, viewer.id, ids);
      await spend(ctx, ctx.services.limiters.messages, viewer.id);
      const devices = await devicesOf(ctx, ids, sessionId);
      if (devices.length > limits.keyPackagesPerSession) {
        throw badInput(
          'userIds',
          `they have more than ${limits.keyPackagesPerSession} devices: claim for fewer users at once`,
        );
      }
      const now = ctx.services.now();
      const claimed = await Promise.all(devices.map((d) => ctx.services.store.mls.claimKeyPackage(d.id, now)));
      return claimed.filter((k) => k !== null);
    },

    createEncryptedConversation: async (_parent, { mlsGroupId, title }, ctx) => {
      const { viewer, identity } = await requireDevice(ctx);
      const groupId = await decoding('mlsGroupId', () => fromBase64(mlsGroupId, 'mlsGroupId'));
      if (groupId.length > limits.mlsGroupIdBytesMax) {
        throw badInput('mlsGroupId', `at most ${limits.mlsGroupIdBytesMax} bytes`);
      }
      const name = title == null ? null : printableName('title', title, limits.groupTitleMax);
      await spend(ctx, ctx.services.limiters.groups, viewer.id);
      const { store, ids, now } = ctx.services;
      const id = ids.next();
      // The group first: a conversation is never without one (a group without its conversation is unseen).
      await store.mls.createGroup({ conversationId: id, groupId: canonical(groupId), epoch: 0, leaves: [identity] });
      return store.conversations.createGroup({
        id,
        title: name,
        memberIds: [viewer.id],
        createdAt: now(),
        kind: 'ENCRYPTED',
      });
    },

    sendMlsMessage: async (_parent, { conversationId, message, welcome, clientMessageId }, ctx) => {
      const { conversation } = await requireMembership(ctx, conversationId);
      const { viewer, identity } = await requireDevice(ctx);
      if (conversation.kind !== 'ENCRYPTED') {
        throw badInput('conversationId', 'is not an ENCRYPTED conversation: use sendMessage');
      }
      const clientId = checkClientMessageId(clientMessageId);
      const bytes = await decoding('message', () => fromBase64(message, 'message'));
      const welcomeBytes = welcome == null ? null : await decoding('welcome', () => fromBase64(welcome, 'welcome'));
      const size = bytes.length + (welcomeBytes?.length ?? 0);
      if (size > limits.mlsHandshakeBytesMax) throw badInput('message', `at most ${limits.mlsHandshakeBytesMax} bytes`);
      const info = await decoding('message', () => inspectMessage(bytes));
      if (info.kind === 'APPLICATION' && size > limits.mlsApplicationBytesMax) {
        throw badInput('message', `an application message is at most ${limits.mlsApplicationBytesMax} bytes`);
      }
      if (info.kind === 'APPLICATION' ? info.wire !== 'private' : info.wire !== 'public') {
        throw badInput(
          'message',
          info.kind === 'APPLICATION'
            ? 'an application message must be a PrivateMessage'
            : 'commits and proposals must be PublicMessages',
        );
      }
      if (welcomeBytes !== null) {
        if (info.kind !== 'COMMIT' || info.commit!.adds.length === 0) {
          throw badInput('welcome', 'goes only with a commit that adds devices');
        }
        await decoding('welcome', () => checkWelcome(welcomeBytes));
      }
      if (info.epoch > BigInt(Number.MAX_SAFE_INTEGER)) throw badInput('message', 'epoch out of range');
      const group = await currentGroup(ctx.services, conversation.id);
      if (info.groupId !== group.groupId) throw badInput('message', 'is for another MLS group');
      await spend(ctx, ctx.services.limiters.messages, viewer.id);
      const sending: Sending = {
        ctx,
        conversation,
        group,
        senderId: viewer.id,
        identity,
        info,
        message: canonical(bytes),
        welcome: welcomeBytes && canonical(welcomeBytes),
        clientId,
      };
      return info.kind === 'COMMIT' ? sendCommit(sending) : sendOther(sending);
    },
  },

  Conversation: {
    mlsGroupId: async (c, _args, ctx) =>
      c.kind === 'ENCRYPTED' ? ((await ctx.loaders.mlsGroups.load(c.id))?.groupId ?? null) : null,
    epoch: async (c, _args, ctx) =>
      c.kind === 'ENCRYPTED' ? ((await ctx.loaders.mlsGroups.load(c.id))?.epoch ?? null) : null,
  },

  Message: {
    mls: (m) => m.mls,
  },

  ClaimedKeyPackage: {
    user: async (k, _args, ctx) => {
      const user = await ctx.loaders.users.load(k.userId);
      if (!user) throw new Error(`KeyPackage ${k.ref} names unknown user ${k.userId}`);
      return user;
    },
  },
};
