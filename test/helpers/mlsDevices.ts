/**
 * Devices of an encrypted conversation as the tests drive them: a session of
 * a user on one server (process), a real ts-mls client (MlsDevice), and a
 * messageAdded subscription whose MLS messages the device processes in seq
 * order, joining from the Welcome that a commit adding it carries.
 */
import type { Client } from 'graphql-ws';
import { gql, gqlOk, subscribe, uniqueName, wsClient, type SubscriptionQueue, type TestUser } from './client';
import { MlsDevice } from './mlsClient';

/** Where a device talks to: one server process. */
export interface Endpoint {
  url: string;
  wsUrl: string;
}

export const MLS_FIELDS = 'id seq conversationId content sender { id } mls { kind epoch message welcome }';
export const MLS_ADDED = `subscription($p: [ConversationPosition!]) { messageAdded(positions: $p) { ${MLS_FIELDS} } }`;
export const SEND_MLS = `mutation($c: ID!, $m: String!, $w: String, $k: String) {
  sendMlsMessage(conversationId: $c, message: $m, welcome: $w, clientMessageId: $k) { ${MLS_FIELDS} }
}`;
export const UPLOAD_KPS = 'mutation($k: [String!]!, $l: String) { uploadKeyPackages(keyPackages: $k, lastResort: $l) }';
export const CLAIM_KPS = 'mutation($u: [ID!]!) { claimKeyPackages(userIds: $u) { user { id } sessionId keyPackage } }';
export const CREATE_ENCRYPTED =
  'mutation($g: String!, $t: String) { createEncryptedConversation(mlsGroupId: $g, title: $t) { id kind epoch mlsGroupId } }';

/** A delivered MLS message as the subscription gives it. */
export interface Delivered {
  id: string;
  seq: number;
  conversationId: string;
  content: string;
  sender: { id: string };
  mls: { kind: 'COMMIT' | 'PROPOSAL' | 'APPLICATION'; epoch: number; message: string; welcome: string | null };
}

export class Device {
  /** The KeyPackages it uploaded (base64). */
  readonly uploaded: string[] = [];
  /** Application texts decrypted, in the order processed (own ones included). */
  readonly texts: string[] = [];
  /** The seq of the last message taken from the stream, and its id. */
  lastSeq = 0;
  lastId: string | null = null;
  private client: Client | null = null;
  private queue: SubscriptionQueue<{ messageAdded: Delivered }> | null = null;

  private constructor(
    readonly user: TestUser,
    readonly sessionId: string,
    readonly token: string,
    readonly at: Endpoint,
    readonly mls: MlsDevice,
  ) {}

  /** A new session of `user` (logIn) on `at`, with its MLS client; uploads `keyPackages` KeyPackages. */
  static async logIn(user: TestUser, at: Endpoint, keyPackages = 2): Promise<Device> {
    const data = await gqlOk(
      at.url,
      'mutation($u: String!, $p: String!) { logIn(username: $u, password: $p) { token session { id } } }',
      { u: user.username, p: 'password-123' },
    );
    const { token, session } = data.logIn;
    const device = new Device(user, session.id, token, at, await MlsDevice.create(`${user.id}:${session.id}`));
    if (keyPackages > 0) await device.upload(keyPackages);
    return device;
  }

  get identity(): string {
    return `${this.user.id}:${this.sessionId}`;
  }

  async upload(n: number, lastResort = false): Promise<number> {
    const kps = await this.mls.keyPackages(n + (lastResort ? 1 : 0));
    this.uploaded.push(...kps);
    const data = await gqlOk(
      this.at.url,
      UPLOAD_KPS,
      { k: kps.slice(0, n), l: lastResort ? kps[n] : null },
      this.token,
    );
    return data.uploadKeyPackages;
  }

  /** Opens its messageAdded stream (from `after` in the conversation, when resuming). */
  listen(resume?: { conversationId: string; after: string }): void {
    this.client = wsClient(this.at.wsUrl, this.token);
    this.queue = subscribe(this.client, MLS_ADDED, { p: resume ? [resume] : null });
  }

  async stopListening(): Promise<void> {
    this.queue?.dispose();
    await this.client?.dispose();
    this.client = null;
    this.queue = null;
  }

  /** Takes `n` messages from its stream and processes them in order. */
  async take(n: number, timeoutMs = 20_000): Promise<Delivered[]> {
    if (!this.queue) throw new Error('not listening');
    const got = (await this.queue.take(n, timeoutMs)).map((r) => r.messageAdded);
    for (const m of got) await this.process(m);
    return got;
  }

  /** Nothing arrives for `ms`. */
  expectSilence(ms: number): Promise<void> {
    return this.queue!.expectSilence(ms);
  }

  /** Processes one delivered message: joins from a Welcome meant for it, else hands it to its MLS state. */
  async process(m: Delivered): Promise<void> {
    if (m.seq !== this.lastSeq + 1 && this.lastSeq !== 0) {
      throw new Error(`${this.identity}: seq ${m.seq} after ${this.lastSeq}`);
    }
    this.lastSeq = m.seq;
    this.lastId = m.id;
    if (!this.mls.joined) {
      if (m.mls.kind === 'COMMIT' && m.mls.welcome && (await this.mls.tryJoin(m.mls.welcome))) return;
      return; // sent before it joined: not for it
    }
    const result = await this.mls.receive(m.mls.message);
    if (result.kind === 'application') this.texts.push(result.text);
  }

  /** Sends an MLS message (base64) through its endpoint; the raw GraphQL answer. */
  send(conversationId: string, message: string, welcome: string | null = null, clientMessageId?: string) {
    return gql(this.at.url, SEND_MLS, { c: conversationId, m: message, w: welcome, k: clientMessageId }, this.token);
  }

  async sendText(conversationId: string, text: string): Promise<Delivered> {
    const res = await this.send(conversationId, await this.mls.encrypt(text));
    if (res.errors) throw new Error(`send failed: ${JSON.stringify(res.errors)}`);
    return res.data.sendMlsMessage;
  }

  /** Claims KeyPackages of `userIds`, leaving out devices already in its group. */
  async claim(userIds: string[]): Promise<string[]> {
    const data = await gqlOk(this.at.url, CLAIM_KPS, { u: userIds }, this.token);
    const inGroup = new Set(this.mls.joined ? this.mls.members() : []);
    return data.claimKeyPackages
      .filter((k: { user: { id: string }; sessionId: string }) => !inGroup.has(`${k.user.id}:${k.sessionId}`))
      .map((k: { keyPackage: string }) => k.keyPackage);
  }

  /** Commits (adds, removes) and sends it; applies it when accepted. The raw answer. */
  async commit(conversationId: string, options: { add?: string[]; remove?: number[] } = {}) {
    const pending = await this.mls.commit(options);
    const res = await this.send(conversationId, pending.commit, pending.welcome);
    if (!res.errors) pending.apply();
    return res;
  }

  async close(): Promise<void> {
    await this.stopListening();
  }
}

/** A user with `devices` sessions, spread over the endpoints in turn, each with `keyPackages` uploaded. */
export async function userWithDevices(
  endpoints: Endpoint[],
  devices: number,
  prefix: string,
  keyPackages = 2,
): Promise<Device[]> {
  const username = uniqueName(prefix);
  const data = await gqlOk(
    endpoints[0]!.url,
    'mutation($u: String!, $p: String!) { signUp(username: $u, password: $p) { token user { id } } }',
    { u: username, p: 'password-123' },
  );
  const user: TestUser = { id: data.signUp.user.id, username, token: data.signUp.token };
  return Promise.all(
    Array.from({ length: devices }, (_, i) => Device.logIn(user, endpoints[i % endpoints.length]!, keyPackages)),
  );
}
