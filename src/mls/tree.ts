/**
 * Which device holds which leaf of an MLS group, as the Delivery Service
 * follows it from the commits it accepts (RFC 9420 12.3: a commit's removes
 * blank their leaves, then each add takes the leftmost blank leaf, else a new
 * one at the right). A device is named by its credential's identity,
 * `<userId>:<sessionId>`; a blank leaf is null.
 */

/** A device's identity: the BasicCredential identity the directory requires. */
export const deviceIdentity = (userId: string, sessionId: string) => `${userId}:${sessionId}`;

/** The user and session an identity names; null if it is not of that form. */
export function parseIdentity(identity: string | null): { userId: string; sessionId: string } | null {
  const match = identity === null ? null : /^([^:\s]{1,64}):([^:\s]{1,64})$/.exec(identity);
  return match ? { userId: match[1]!, sessionId: match[2]! } : null;
}

/** The user of each occupied leaf, once each. */
export function usersOf(leaves: readonly (string | null)[]): Set<string> {
  const users = new Set<string>();
  for (const leaf of leaves) {
    const device = parseIdentity(leaf);
    if (device) users.add(device.userId);
  }
  return users;
}

/** Why a commit cannot apply to the leaves as they are. */
export class TreeError extends Error {}

/** The leaves after a commit that removes `removes` and adds devices `adds`, in that order. */
export function applyCommit(
  leaves: readonly (string | null)[],
  { removes, adds, senderLeaf }: { removes: readonly number[]; adds: readonly string[]; senderLeaf: number },
): (string | null)[] {
  const after = [...leaves];
  for (const leaf of removes) {
    if (leaf === senderLeaf) throw new TreeError('a commit cannot remove its own sender');
    if (after[leaf] == null) throw new TreeError(`leaf ${leaf} is blank`);
    after[leaf] = null;
  }
  for (const identity of adds) {
    if (after.includes(identity)) throw new TreeError(`${identity} is in the group already`);
    const blank = after.indexOf(null);
    if (blank === -1) after.push(identity);
    else after[blank] = identity;
  }
  while (after.length > 0 && after.at(-1) === null) after.pop();
  return after;
}
