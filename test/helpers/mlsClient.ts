/**
 * A real MLS client (RFC 9420) for the tests, on ts-mls 1.6 with the ciphersuite
 * MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519: one `MlsDevice` is one device of a user, with its own signature
 * key, its key packages and (after createGroup or join) its state in one group.
 *
 * Every message crosses the API as base64 (standard alphabet, padded) of a TLS-encoded MLSMessage: key packages
 * (wireformat mls_key_package), commits (mls_public_message, so that the server can read them), Welcomes
 * (mls_welcome) and application messages (mls_private_message). A group id is base64 of its raw bytes.
 *
 * The server echoes every message of a group to every device, the sender's included: a device recognises its own
 * application messages and commits by their bytes and does not process them again.
 */
import { randomBytes } from 'node:crypto';
import {
  acceptAll,
  createApplicationMessage,
  createCommit,
  createGroup,
  decodeMlsMessage,
  defaultCapabilities,
  emptyPskIndex,
  encodeMlsMessage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  processMessage,
  type CiphersuiteImpl,
  type ClientState,
  type KeyPackage,
  type Lifetime,
  type MLSMessage,
  type PrivateKeyPackage,
  type Proposal,
} from 'ts-mls';
import { generateKeyPackageWithKey, makeKeyPackageRef } from 'ts-mls/keyPackage.js';

export const MLS_CIPHERSUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';

let ciphersuite: Promise<CiphersuiteImpl> | undefined;

/** The ciphersuite's implementation (hash, HPKE, signature, ...), made once per test file. */
export function mlsCiphersuite(): Promise<CiphersuiteImpl> {
  ciphersuite ??= getCiphersuiteImpl(getCiphersuiteFromName(MLS_CIPHERSUITE));
  return ciphersuite;
}

/** base64 (standard alphabet) of bytes. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/** The bytes of base64 (standard or URL alphabet). */
export function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** Decodes base64 of a TLS-encoded MLSMessage; throws if it is not one (or has bytes left over). */
export function decodeMlsMessageBase64(text: string): MLSMessage {
  const bytes = fromBase64(text);
  const decoded = decodeMlsMessage(bytes, 0);
  if (decoded === undefined) throw new Error('not an MLSMessage');
  const [message, length] = decoded;
  if (length !== bytes.length) throw new Error(`MLSMessage followed by ${bytes.length - length} more bytes`);
  return message;
}

export function encodeMlsMessageBase64(message: MLSMessage): string {
  return toBase64(encodeMlsMessage(message));
}

/** The UTF-8 identity of a BasicCredential (null for other credential types). */
function identityOf(credential: { credentialType: string; identity?: Uint8Array }): string | null {
  return credential.credentialType === 'basic' && credential.identity
    ? Buffer.from(credential.identity).toString('utf8')
    : null;
}

/** From an hour ago to 30 days on (within ts-mls's default maximum total lifetime of 2,628,000 s). */
export function defaultKeyPackageLifetime(): Lifetime {
  const now = BigInt(Math.floor(Date.now() / 1000));
  return { notBefore: now - 3600n, notAfter: now + 30n * 86400n };
}

export interface KeyPackageVariant {
  /** Another lifetime (seconds since 1970), e.g. `{ notBefore: 0n, notAfter: <an hour ago> }` for an expired one. */
  lifetime?: Lifetime;
  /** Another BasicCredential identity than the device's own. */
  identity?: string;
  /** Flip a byte of the KeyPackage's signature (its leaf node's own signature stays valid). */
  tamper?: boolean;
}

export interface CommitOptions {
  /** base64 MLSMessages (mls_key_package) of the key packages to add. */
  add?: string[];
  /** Leaf indexes to remove. */
  remove?: number[];
}

export interface PendingCommit {
  /** base64 MLSMessage of the commit: mls_public_message (mls_private_message from commitAsPrivateMessage). */
  commit: string;
  /** base64 MLSMessage (mls_welcome) for the added members, null if the commit adds none. */
  welcome: string | null;
  /** The epoch the commit was made in (the group moves to epoch + 1 with it). */
  epoch: bigint;
  /** Adopts the commit's new epoch (once the server has accepted the commit); a no-op if already adopted. */
  apply(): void;
}

export type Received =
  | { kind: 'application'; text: string; own: boolean }
  | { kind: 'commit'; own: boolean; epoch: bigint; removed: boolean }
  | { kind: 'proposal'; own: false };

interface StoredKeyPackage {
  publicPackage: KeyPackage;
  privatePackage: PrivateKeyPackage;
  ref: string;
}

interface Pending {
  bytes: string;
  newState: ClientState;
  /** The epoch the commit was made in. */
  epoch: bigint;
  applied: boolean;
}

export class MlsDevice {
  private state: ClientState | undefined;
  private readonly unusedKeyPackages = new Map<string, StoredKeyPackage>();
  /** Own application messages (base64 of their bytes → text), to recognise their echo. */
  private readonly sent = new Map<string, string>();
  /** Own commits adopted with apply() (base64 of their bytes), to recognise their echo. */
  private readonly appliedCommits = new Set<string>();
  private pending: Pending | undefined;

  private constructor(
    /** The BasicCredential identity, e.g. "<userId>:<sessionId>". */
    readonly identity: string,
    private readonly cs: CiphersuiteImpl,
    private readonly signatureKeys: { signKey: Uint8Array; publicKey: Uint8Array },
  ) {}

  static async create(identity: string): Promise<MlsDevice> {
    const cs = await mlsCiphersuite();
    return new MlsDevice(identity, cs, await cs.signature.keygen());
  }

  /** The device's Ed25519 signature public key (the same in all its key packages and leaves). */
  get signaturePublicKey(): Uint8Array {
    return this.signatureKeys.publicKey;
  }

  private async generate(variant: KeyPackageVariant = {}): Promise<StoredKeyPackage> {
    const credential = {
      credentialType: 'basic' as const,
      identity: new TextEncoder().encode(variant.identity ?? this.identity),
    };
    const { publicPackage, privatePackage } = await generateKeyPackageWithKey(
      credential,
      defaultCapabilities(),
      variant.lifetime ?? defaultKeyPackageLifetime(),
      [],
      this.signatureKeys,
      this.cs,
    );
    if (variant.tamper) {
      const signature = publicPackage.signature.slice();
      signature[signature.length - 1] ^= 0x01;
      publicPackage.signature = signature;
    }
    return { publicPackage, privatePackage, ref: toBase64(await makeKeyPackageRef(publicPackage, this.cs.hash)) };
  }

  private static encodeKeyPackage(keyPackage: KeyPackage): string {
    return encodeMlsMessageBase64({ version: 'mls10', wireformat: 'mls_key_package', keyPackage });
  }

  /** n fresh key packages (base64 MLSMessages), whose private keys the device keeps to join with. */
  async keyPackages(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const stored = await this.generate();
      this.unusedKeyPackages.set(stored.ref, stored);
      out.push(MlsDevice.encodeKeyPackage(stored.publicPackage));
    }
    return out;
  }

  /** A key package for negative tests: another identity, a tampered signature or another lifetime. */
  async keyPackageWith(variant: KeyPackageVariant): Promise<string> {
    const stored = await this.generate(variant);
    this.unusedKeyPackages.set(stored.ref, stored);
    return MlsDevice.encodeKeyPackage(stored.publicPackage);
  }

  /** Creates a group with this device alone at leaf 0 and epoch 0; returns its id as base64 of the raw bytes. */
  async createGroup(groupId: Uint8Array = randomBytes(16)): Promise<string> {
    if (this.state) throw new Error('this device is already in a group');
    const own = await this.generate();
    this.state = await createGroup(groupId, own.publicPackage, own.privatePackage, [], this.cs);
    return toBase64(groupId);
  }

  private get current(): ClientState {
    if (!this.state) throw new Error('this device is in no group (createGroup or join first)');
    return this.state;
  }

  /** The group id, base64 of its raw bytes. */
  get groupId(): string {
    return toBase64(this.current.groupContext.groupId);
  }

  get epoch(): bigint {
    return this.current.groupContext.epoch;
  }

  /** The epoch authenticator of the current epoch, in hex: equal on every member in the same epoch. */
  get epochAuthenticator(): string {
    return Buffer.from(this.current.keySchedule.epochAuthenticator).toString('hex');
  }

  get leafIndex(): number {
    return this.current.privatePath.leafIndex;
  }

  /** Whether the device has processed a commit that removed it. */
  get removed(): boolean {
    return this.current.groupActiveState.kind === 'removedFromGroup';
  }

  /** The BasicCredential identities by leaf index (null for a blank leaf). */
  members(): (string | null)[] {
    const tree = this.current.ratchetTree;
    const out: (string | null)[] = [];
    for (let node = 0; node < tree.length; node += 2) {
      const n = tree[node];
      out.push(n?.nodeType === 'leaf' ? identityOf(n.leaf.credential) : null);
    }
    while (out.length > 0 && out[out.length - 1] === null) out.pop();
    return out;
  }

  /** The leaf index of the member with this identity (undefined if none). */
  leafOf(identity: string): number | undefined {
    const index = this.members().indexOf(identity);
    return index < 0 ? undefined : index;
  }

  /**
   * A commit (a PublicMessage, with a path) adding and removing members by value; the Welcome for added members
   * carries the ratchet tree. The device keeps its epoch until apply() is called (or the commit's echo arrives).
   */
  commit(options: CommitOptions = {}): Promise<PendingCommit> {
    return this.makeCommit(options, true);
  }

  /** The same commit as a PrivateMessage (which the server cannot read: for a negative test). */
  commitAsPrivateMessage(options: CommitOptions = {}): Promise<PendingCommit> {
    return this.makeCommit(options, false);
  }

  private async makeCommit(options: CommitOptions, wireAsPublicMessage: boolean): Promise<PendingCommit> {
    const baseState = this.current;
    const extraProposals: Proposal[] = [
      ...(options.add ?? []).map((text): Proposal => {
        const message = decodeMlsMessageBase64(text);
        if (message.wireformat !== 'mls_key_package') throw new Error(`not a key package: ${message.wireformat}`);
        return { proposalType: 'add', add: { keyPackage: message.keyPackage } };
      }),
      ...(options.remove ?? []).map((removed): Proposal => ({ proposalType: 'remove', remove: { removed } })),
    ];
    const result = await createCommit(
      { state: baseState, cipherSuite: this.cs, pskIndex: emptyPskIndex },
      { wireAsPublicMessage, ratchetTreeExtension: true, extraProposals },
    );
    const pending: Pending = {
      bytes: toBase64(encodeMlsMessage(result.commit)),
      newState: result.newState,
      epoch: baseState.groupContext.epoch,
      applied: false,
    };
    this.pending = pending;
    return {
      commit: pending.bytes,
      welcome: result.welcome
        ? encodeMlsMessageBase64({ version: 'mls10', wireformat: 'mls_welcome', welcome: result.welcome })
        : null,
      epoch: baseState.groupContext.epoch,
      apply: () => this.adopt(pending),
    };
  }

  private adopt(pending: Pending): void {
    if (pending.applied) return;
    if (this.epoch !== pending.epoch) {
      throw new Error('the group moved on since this commit was made (process the winning commit, then commit again)');
    }
    this.state = pending.newState;
    pending.applied = true;
    this.appliedCommits.add(pending.bytes);
    if (this.pending === pending) this.pending = undefined;
  }

  /** Whether it is in a group (created one, or joined one). */
  get joined(): boolean {
    return this.state !== undefined;
  }

  /** Joins from the Welcome if it is for one of this device's key packages; whether it did. */
  async tryJoin(welcomeBase64: string): Promise<boolean> {
    const message = decodeMlsMessageBase64(welcomeBase64);
    if (message.wireformat !== 'mls_welcome') return false;
    const forMe = message.welcome.secrets.some((secret) => this.unusedKeyPackages.has(toBase64(secret.newMember)));
    if (!forMe) return false;
    await this.join(welcomeBase64);
    return true;
  }

  /** Joins the group of a Welcome (base64 MLSMessage) with the matching key package made by keyPackages(). */
  async join(welcomeBase64: string): Promise<void> {
    if (this.state) throw new Error('this device is already in a group');
    const message = decodeMlsMessageBase64(welcomeBase64);
    if (message.wireformat !== 'mls_welcome') throw new Error(`not a Welcome: ${message.wireformat}`);
    const welcome = message.welcome;
    const stored = welcome.secrets
      .map((secret) => this.unusedKeyPackages.get(toBase64(secret.newMember)))
      .find((kp) => kp !== undefined);
    if (!stored) throw new Error('the Welcome is for none of this device key packages');
    // The tree comes from the GroupInfo's ratchet_tree extension.
    this.state = await joinGroup(welcome, stored.publicPackage, stored.privatePackage, emptyPskIndex, this.cs);
    this.unusedKeyPackages.delete(stored.ref);
  }

  /** Encrypts a text as an application message (base64 MLSMessage, PrivateMessage) of the current epoch. */
  async encrypt(text: string): Promise<string> {
    const { newState, privateMessage } = await createApplicationMessage(
      this.current,
      new TextEncoder().encode(text),
      this.cs,
    );
    this.state = newState;
    const bytes = encodeMlsMessageBase64({ version: 'mls10', wireformat: 'mls_private_message', privateMessage });
    this.sent.set(bytes, text);
    return bytes;
  }

  /**
   * Processes a message of the group (base64 MLSMessage) as it arrives from the server: decrypts an application
   * message, advances the epoch with a commit. Its own messages are recognised by their bytes: its own application
   * message returns the text it sent; its own commit is adopted if still pending (the echo came before apply()),
   * skipped if already applied. Throws on a message it cannot process (e.g. after it was removed).
   */
  async receive(text: string): Promise<Received> {
    const bytes = toBase64(fromBase64(text));
    const own = this.sent.get(bytes);
    if (own !== undefined) return { kind: 'application', text: own, own: true };
    if (this.appliedCommits.has(bytes)) return { kind: 'commit', own: true, epoch: this.epoch, removed: this.removed };
    if (this.pending && this.pending.bytes === bytes) {
      this.adopt(this.pending);
      return { kind: 'commit', own: true, epoch: this.epoch, removed: this.removed };
    }

    const message = decodeMlsMessageBase64(text);
    if (message.wireformat !== 'mls_public_message' && message.wireformat !== 'mls_private_message') {
      throw new Error(`not a group message: ${message.wireformat}`);
    }
    const { groupId, contentType } =
      message.wireformat === 'mls_public_message'
        ? { groupId: message.publicMessage.content.groupId, contentType: message.publicMessage.content.contentType }
        : { groupId: message.privateMessage.groupId, contentType: message.privateMessage.contentType };
    if (toBase64(groupId) !== this.groupId) throw new Error('a message of another group');

    const result = await processMessage(message, this.current, emptyPskIndex, acceptAll, this.cs);
    if (result.kind === 'applicationMessage') {
      this.state = result.newState;
      return { kind: 'application', text: new TextDecoder().decode(result.message), own: false };
    }
    this.state = result.newState;
    if (contentType !== 'commit') return { kind: 'proposal', own: false };
    // Another member's commit won the epoch: a pending commit of this device's is void.
    if (this.pending && this.pending.epoch !== this.epoch) this.pending = undefined;
    return { kind: 'commit', own: false, epoch: this.epoch, removed: this.removed };
  }
}
