import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createLocalMediaStore } from '../../src/media/local';
import { codes, gql, gqlOk, signUpMany, type TestUser } from '../helpers/client';
import { ADD_FRIEND, BLOCK, CREATE_GROUP, DELETE, EDIT, OPEN_DIRECT, SEND } from '../helpers/operations';
import { startTestServer, useTestServer, type TestServer } from '../helpers/server';

const EXPORT = 'mutation { exportMyData { url expiresAt } }';

interface ExportedUser {
  id: string;
  username: string;
  displayName: string;
}
interface ExportedMessage {
  id: string;
  seq: number;
  createdAt: string;
  editedAt: string | null;
  content: string;
  replyToId: string | null;
  attachmentIds: string[];
}
interface ExportFile {
  exportedAt: string;
  profile: ExportedUser & { createdAt: string };
  friends: ExportedUser[];
  blocked: ExportedUser[];
  conversations: {
    id: string;
    kind: string;
    title: string | null;
    createdAt: string;
    members: ExportedUser[];
    messages: ExportedMessage[];
  }[];
}

const exportOk = async (url: string, user: TestUser) =>
  (await gqlOk<{ exportMyData: { url: string; expiresAt: string } }>(url, EXPORT, {}, user.token)).exportMyData;

describe('exportMyData (embedded default)', () => {
  let server: TestServer;
  let dir: string;
  /** Moves the media store's clock (its URLs' expiry) on, and only that. */
  let mediaClockShift = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'export-api-'));
    const media = createLocalMediaStore({
      dir,
      secret: 's'.repeat(40),
      now: () => Date.now() + mediaClockShift,
    });
    server = await startTestServer({ media });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    mediaClockShift = 0;
  });

  it('downloads as a JSON file of exactly the viewer’s data: profile, friends, blocks, conversations, own messages', async () => {
    const [alice, bob, carol, dave] = await signUpMany(server.url, 4, 'exp');
    const { url } = server;
    await gqlOk(url, ADD_FRIEND, { u: bob!.id }, alice!.token);
    await gqlOk(url, ADD_FRIEND, { u: alice!.id }, bob!.token);
    await gqlOk(url, ADD_FRIEND, { u: carol!.id }, alice!.token); // not mutual: not a friend
    await gqlOk(url, BLOCK, { u: dave!.id }, alice!.token);
    const direct = (await gqlOk(url, OPEN_DIRECT, { u: bob!.id }, alice!.token)).openDirectConversation.id as string;
    const group = (await gqlOk(url, CREATE_GROUP, { t: 'trip', m: [bob!.id, carol!.id] }, alice!.token)).createGroup
      .id as string;
    const elsewhere = (await gqlOk(url, OPEN_DIRECT, { u: carol!.id }, bob!.token)).openDirectConversation.id as string;
    const send = async (user: TestUser, c: string, t: string) =>
      (await gqlOk(url, SEND, { c, t }, user.token)).sendMessage as { id: string; seq: number };
    const a1 = await send(alice!, direct, 'alice hello "quoted" ✓');
    await send(bob!, direct, 'bob secret');
    const a2 = await send(alice!, direct, 'alice to be deleted');
    const a3 = await send(alice!, direct, 'alice before edit');
    await gqlOk(url, DELETE, { m: a2.id }, alice!.token);
    await gqlOk(url, EDIT, { m: a3.id, t: 'alice after edit' }, alice!.token);
    await send(carol!, group, 'carol secret');
    const g1 = await send(alice!, group, 'alice in the group');
    await send(bob!, elsewhere, 'bob to carol secret');

    const before = Date.now();
    const answer = await exportOk(url, alice!);
    expect(Date.parse(answer.expiresAt)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3600_000);
    expect(Date.parse(answer.expiresAt)).toBeLessThanOrEqual(Date.now() + 3600_000);
    const response = await fetch(answer.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(
      new RegExp(`^attachment; filename="chat-export-${alice!.username}-\\d{4}-\\d\\d-\\d\\d\\.json"`),
    );
    const text = await response.text();
    for (const secret of ['bob secret', 'carol secret', 'bob to carol secret', 'to be deleted', 'before edit']) {
      expect(text).not.toContain(secret);
    }
    const file = JSON.parse(text) as ExportFile;
    const user = (u: TestUser) => ({ id: u.id, username: u.username, displayName: u.username });
    expect(file.profile).toEqual({ ...user(alice!), createdAt: expect.any(String) });
    expect(file.friends).toEqual([user(bob!)]);
    expect(file.blocked).toEqual([user(dave!)]);
    expect(file.conversations.map((c) => c.id)).toEqual([direct, group]);
    const [d, g] = file.conversations;
    expect(d).toMatchObject({ kind: 'DIRECT', title: null });
    expect(d!.members.map((m) => m.id).sort()).toEqual([alice!.id, bob!.id].sort());
    expect(g).toMatchObject({ kind: 'GROUP', title: 'trip' });
    expect(g!.members.map((m) => m.id).sort()).toEqual([alice!.id, bob!.id, carol!.id].sort());
    // Own messages only, deleted ones left out, in seq order, with their times.
    expect(d!.messages.map((m) => [m.id, m.seq, m.content])).toEqual([
      [a1.id, a1.seq, 'alice hello "quoted" ✓'],
      [a3.id, a3.seq, 'alice after edit'],
    ]);
    expect(d!.messages[0]!.editedAt).toBeNull();
    expect(Date.parse(d!.messages[1]!.editedAt!)).toBeGreaterThanOrEqual(Date.parse(d!.messages[1]!.createdAt));
    expect(Date.parse(d!.messages[0]!.createdAt)).toBeGreaterThanOrEqual(before - 60_000);
    expect(g!.messages.map((m) => [m.id, m.seq, m.content])).toEqual([[g1.id, g1.seq, 'alice in the group']]);

    // Bob's export is his: his messages, not Alice's.
    const bobs = JSON.parse(await (await fetch((await exportOk(url, bob!)).url)).text()) as ExportFile;
    expect(bobs.profile.id).toBe(bob!.id);
    expect(bobs.conversations.flatMap((c) => c.messages.map((m) => m.content)).sort()).toEqual(
      ['bob secret', 'bob to carol secret'].sort(),
    );
  });

  it('refuses the URL once it has expired, and refuses the unauthenticated', async () => {
    const [alice] = await signUpMany(server.url, 1, 'exp');
    const { url } = await exportOk(server.url, alice!);
    expect((await fetch(url)).status).toBe(200);
    mediaClockShift = 3600_000 + 2000;
    expect((await fetch(url)).status).toBe(403);
    expect(codes(await gql(server.url, EXPORT, {}))).toEqual(['UNAUTHENTICATED']);
  });

  it('exports a 10,000-message account holding a small part of the file at a time', async () => {
    const gc = exposedGc();
    const [alice, bob] = await signUpMany(server.url, 2, 'exp');
    const c = (await gqlOk(server.url, OPEN_DIRECT, { u: bob!.id }, alice!.token)).openDirectConversation.id as string;
    // Stored directly: 10,000 of Alice's messages of 3,000 characters, and Bob's in between.
    const contentOf = (i: number) => {
      // A flat string: one made with + is a rope that the export would flatten, growing the store's copy.
      const bytes = Buffer.alloc(3000, 'x');
      bytes.write(`${i}:`);
      return bytes.toString('latin1');
    };
    for (let i = 0; i < 11_000; i++) {
      const senderId = i % 11 === 10 ? bob!.id : alice!.id;
      await server.store.messages.append({
        id: String(9_000_000_000_000 + i),
        conversationId: c,
        senderId,
        content: contentOf(i),
        clientMessageId: null,
        createdAt: new Date(),
      });
    }
    const live = () => {
      gc();
      const { heapUsed, arrayBuffers } = process.memoryUsage();
      return heapUsed + arrayBuffers;
    };
    const baseline = live();
    let peak = baseline;
    // A full collection takes tens of milliseconds here: sampled often enough, the export would barely run.
    // Under a loaded CI run a forced GC every 200 ms slows the export a lot (it once took past 120 s): hence 300 s.
    const sampler = setInterval(() => (peak = Math.max(peak, live())), 200);
    let answer;
    try {
      answer = await exportOk(server.url, alice!);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, live());
    const text = await (await fetch(answer.url)).text();
    const file = JSON.parse(text) as ExportFile;
    expect(file.conversations[0]!.messages).toHaveLength(10_000);
    expect(file.conversations[0]!.messages.every((m) => !m.content.startsWith('10:'))).toBe(true);
    const size = Buffer.byteLength(text);
    expect(size).toBeGreaterThan(30_000_000);
    // Holding the whole file would be its size at least; a few pages of the history are all it takes.
    expect(peak - baseline).toBeLessThan(size / 5);
  }, 300_000);
});

describe('the export rate limit', () => {
  const server = useTestServer({ env: { EXPORT_RATE_BURST: '1', EXPORT_RATE_PER_SECOND: String(1 / 600) } });

  it('allows one export per user per EXPORT_RATE_PER_SECOND, then RATE_LIMITED', async () => {
    const [alice, bob] = await signUpMany(server.url, 2, 'exp');
    await exportOk(server.url, alice!);
    const refused = await gql(server.url, EXPORT, {}, alice!.token);
    expect(codes(refused)).toEqual(['RATE_LIMITED']);
    expect(refused.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(500);
    // Per user: Bob still may.
    await exportOk(server.url, bob!);
  });
});

/**
 * A full collection, which jest does not expose: the flag is set at run time and `gc` taken from a
 * fresh context. Without it, live memory is measured as it is (with garbage), which only loosens the test.
 */
function exposedGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as unknown;
  return typeof gc === 'function' ? (gc as () => void) : () => undefined;
}
