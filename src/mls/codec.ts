/**
 * What the Delivery Service reads of MLS (RFC 9420) messages, through ts-mls:
 * the clear parts only (wire format, group id, epoch, content type; a public
 * commit's proposals and its sender's leaf). Nothing here can decrypt.
 *
 * ts-mls is an ES module: Node loads it with require() from 20.19 on (tsconfig's module node20).
 */
import {
  decodeMlsMessage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  type CiphersuiteImpl,
  type ContentTypeName,
  type Credential,
  type MLSMessage,
  type Proposal,
} from 'ts-mls';
import { makeKeyPackageRef, verifyKeyPackage } from 'ts-mls/keyPackage.js';
import { verifyLeafNodeSignatureKeyPackage } from 'ts-mls/leafNode.js';

/** The one ciphersuite the directory accepts (X25519, AES-128-GCM, SHA-256, Ed25519: built into Node). */
export const CIPHERSUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';

let suite: Promise<CiphersuiteImpl> | undefined;
const ciphersuite = () => (suite ??= getCiphersuiteImpl(getCiphersuiteFromName(CIPHERSUITE)));

/** Why an MLS input was refused; its message is the client's to read. */
export class MlsInputError extends Error {}

const refuse = (reason: string): never => {
  throw new MlsInputError(reason);
};

/** Base64 (standard or URL alphabet, padding optional) to bytes; refuses anything else. */
export function fromBase64(text: string, what: string): Uint8Array {
  if (text.length === 0 || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) refuse(`${what} is not base64`);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

const toBase64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function decode(bytes: Uint8Array, what: string): MLSMessage {
  let decoded: [MLSMessage, number] | undefined;
  try {
    decoded = decodeMlsMessage(bytes, 0);
  } catch {
    decoded = undefined;
  }
  if (!decoded || decoded[1] !== bytes.length) return refuse(`${what} is not an MLSMessage`);
  return decoded[0];
}

const identityOf = (credential: Credential): string | null =>
  credential.credentialType === 'basic' ? new TextDecoder('utf-8', { fatal: false }).decode(credential.identity) : null;

/** A KeyPackage as the directory keeps it. */
export interface KeyPackageInfo {
  /** The BasicCredential's identity (the directory wants `<userId>:<sessionId>`); null for other credentials. */
  identity: string | null;
  /** KeyPackageRef (RFC 9420 5.2), hex: what a commit that adds it names. */
  ref: string;
  notBefore: Date;
  notAfter: Date;
}

/** Decodes and checks a KeyPackage (an MLSMessage): its ciphersuite and signature. Throws MlsInputError. */
export async function inspectKeyPackage(bytes: Uint8Array): Promise<KeyPackageInfo> {
  const message = decode(bytes, 'keyPackage');
  if (message.wireformat !== 'mls_key_package') return refuse('not a KeyPackage');
  const kp = message.keyPackage;
  if (kp.cipherSuite !== CIPHERSUITE) return refuse(`only ciphersuite ${CIPHERSUITE} is accepted`);
  const cs = await ciphersuite();
  const signed =
    (await verifyKeyPackage(kp, cs.signature)) && (await verifyLeafNodeSignatureKeyPackage(kp.leafNode, cs.signature));
  if (!signed) return refuse('the KeyPackage signature is not valid');
  const lifetime = kp.leafNode.lifetime;
  const seconds = (value: bigint) => new Date(Number(value > 8_000_000_000n ? 8_000_000_000n : value) * 1000);
  return {
    identity: identityOf(kp.leafNode.credential),
    ref: Buffer.from(await makeKeyPackageRef(kp, cs.hash)).toString('hex'),
    notBefore: seconds(lifetime.notBefore),
    notAfter: seconds(lifetime.notAfter),
  };
}

/** A commit's effect on the tree, in the order RFC 9420 12.3 applies it (removes, then adds). */
export interface CommitInfo {
  /** Leaf indexes removed. */
  removes: number[];
  /** The added KeyPackages: their credentials' identities (null: not a BasicCredential) and refs, in proposal order. */
  adds: { identity: string | null; ref: string }[];
  /** Proposals included by reference. */
  references: number;
  /** Proposal types other than add, remove and update (psk, reinit, external_init, ...). */
  others: string[];
  /** Identities of the credentials that Update proposals or the update path put at the sender's leaf. */
  senderIdentities: (string | null)[];
}

/** What a handshake or application message says in the clear. */
export interface MessageInfo {
  kind: 'COMMIT' | 'PROPOSAL' | 'APPLICATION';
  wire: 'public' | 'private';
  groupId: string;
  epoch: bigint;
  /** The member leaf that sent a public message; null for private messages and non-member senders. */
  senderLeaf: number | null;
  commit: CommitInfo | null;
  /** A public standalone proposal: its type, and for an Update the identity of its credential. */
  proposal: { type: string; identity: string | null } | null;
}

/** Decodes a message sent to a group: wire format, group id, epoch, kind; a public commit's proposals. */
export async function inspectMessage(bytes: Uint8Array): Promise<MessageInfo> {
  const message = decode(bytes, 'message');
  if (message.wireformat === 'mls_private_message') {
    const pm = message.privateMessage;
    return {
      kind: kindOf(pm.contentType),
      wire: 'private',
      groupId: toBase64(pm.groupId),
      epoch: pm.epoch,
      senderLeaf: null,
      commit: null,
      proposal: null,
    };
  }
  if (message.wireformat !== 'mls_public_message') return refuse('not a PublicMessage or a PrivateMessage');
  const { content } = message.publicMessage;
  const sender = content.sender;
  const base = {
    wire: 'public' as const,
    groupId: toBase64(content.groupId),
    epoch: content.epoch,
    senderLeaf: sender.senderType === 'member' ? sender.leafIndex : null,
  };
  switch (content.contentType) {
    case 'application':
      return { ...base, kind: 'APPLICATION', commit: null, proposal: null };
    case 'proposal': {
      const p = content.proposal;
      const identity = p.proposalType === 'update' ? identityOf(p.update.leafNode.credential) : null;
      return { ...base, kind: 'PROPOSAL', commit: null, proposal: { type: proposalName(p), identity } };
    }
    case 'commit': {
      const info: CommitInfo = { removes: [], adds: [], references: 0, others: [], senderIdentities: [] };
      for (const entry of content.commit.proposals) {
        if (entry.proposalOrRefType === 'reference') {
          info.references++;
          continue;
        }
        const p = entry.proposal;
        if (p.proposalType === 'add') {
          const kp = p.add.keyPackage;
          const ref = Buffer.from(await makeKeyPackageRef(kp, (await ciphersuite()).hash)).toString('hex');
          info.adds.push({ identity: identityOf(kp.leafNode.credential), ref });
        } else if (p.proposalType === 'remove') info.removes.push(p.remove.removed);
        else if (p.proposalType === 'update') info.senderIdentities.push(identityOf(p.update.leafNode.credential));
        else info.others.push(proposalName(p));
      }
      const path = content.commit.path;
      if (path) info.senderIdentities.push(identityOf(path.leafNode.credential));
      return { ...base, kind: 'COMMIT', commit: info, proposal: null };
    }
  }
}

const kindOf = (contentType: ContentTypeName): MessageInfo['kind'] =>
  contentType === 'commit' ? 'COMMIT' : contentType === 'proposal' ? 'PROPOSAL' : 'APPLICATION';

const proposalName = (p: Proposal): string =>
  typeof p.proposalType === 'number' ? `custom(${p.proposalType})` : p.proposalType;

/** Checks that a Welcome is one (an MLSMessage of wire format mls_welcome). */
export function checkWelcome(bytes: Uint8Array): void {
  if (decode(bytes, 'welcome').wireformat !== 'mls_welcome') refuse('welcome is not a Welcome');
}
