/**
 * The encrypted-conversation scenarios with real MLS clients (ts-mls), run by
 * test/api/encryption.test.ts on the embedded default and by
 * test/multiprocess/encryption.test.ts on two processes sharing FerretDB and
 * Redis: three users with two devices each, the devices spread over the
 * endpoints.
 */
import { codes, gql, gqlOk } from './client';
import { CLAIM_KPS, CREATE_ENCRYPTED, Device, userWithDevices, type Endpoint } from './mlsDevices';
import { decodeMlsMessageBase64, encodeMlsMessageBase64 } from './mlsClient';

export interface EncryptionSuiteOptions {
  /** The servers the devices talk to (one for the embedded default, two processes otherwise). */
  endpoints: () => Endpoint[];
  /**
   * The stored strings among `needles`, searching every record of the store (on the embedded default, the
   * conversations and messages the test made: the memory store's tables are not reachable from outside).
   */
  findInStore: (needles: string[]) => Promise<string[]>;
}

const epochOf = async (device: Device, conversationId: string) =>
  (await gqlOk(device.at.url, 'query($c: ID!) { conversation(id: $c) { epoch } }', { c: conversationId }, device.token))
    .conversation.epoch as number;

const historyLength = async (device: Device, conversationId: string) =>
  (
    await gqlOk(
      device.at.url,
      'query($c: ID!) { messages(conversationId: $c, last: 100) { edges { node { id } } } }',
      { c: conversationId },
      device.token,
    )
  ).messages.edges.length as number;

const membersOf = async (device: Device, conversationId: string) =>
  (
    await gqlOk(
      device.at.url,
      'query($c: ID!) { conversation(id: $c) { members { id } } }',
      { c: conversationId },
      device.token,
    )
  ).conversation.members
    .map((m: { id: string }) => m.id)
    .sort();

/** Every device takes what is delivered to it up to the conversation's newest seq (a new device: from its join). */
async function settle(devices: Device[], newestSeq: number): Promise<void> {
  await Promise.all(
    devices.map(async (d) => {
      while (d.lastSeq < newestSeq) await d.take(d.lastSeq === 0 ? 1 : newestSeq - d.lastSeq);
    }),
  );
}

export function encryptionSuite({ endpoints, findInStore }: EncryptionSuiteOptions): void {
  let alice: Device[];
  let bob: Device[];
  let carol: Device[];
  let conversationId: string;
  let newest = 0;
  const all = () => [...alice, ...bob, ...carol];

  beforeAll(async () => {
    [alice, bob, carol] = await Promise.all(
      ['alice', 'bob', 'carol'].map((name) => userWithDevices(endpoints(), 2, name)),
    );
    for (const d of all()) d.listen();
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...(alice ?? []), ...(bob ?? []), ...(carol ?? [])].map((d) => d.close()));
  });

  it('one commit adds five devices, which join from its Welcome; 50 messages from all six are read by all, in seq order; the store holds no plaintext', async () => {
    const [a1] = alice;
    const groupId = await a1!.mls.createGroup();
    const created = (await gqlOk(a1!.at.url, CREATE_ENCRYPTED, { g: groupId, t: 'secret plans' }, a1!.token))
      .createEncryptedConversation;
    expect(created).toMatchObject({ kind: 'ENCRYPTED', epoch: 0, mlsGroupId: groupId });
    conversationId = created.id;

    const keyPackages = await a1!.claim([alice[0]!.user.id, bob[0]!.user.id, carol[0]!.user.id]);
    expect(keyPackages).toHaveLength(5);
    const added = await a1!.commit(conversationId, { add: keyPackages });
    expect(added.errors).toBeUndefined();
    newest = added.data.sendMlsMessage.seq;
    await settle(all(), newest);
    expect(all().every((d) => d.mls.joined)).toBe(true);
    expect(new Set(all().map((d) => d.mls.epochAuthenticator)).size).toBe(1);
    expect(await membersOf(a1!, conversationId)).toEqual([alice, bob, carol].map((u) => u[0]!.user.id).sort());
    expect(await epochOf(bob[1]!, conversationId)).toBe(1);

    const texts: string[] = [];
    for (let round = 0; round < 50; round += 6) {
      const batch = all()
        .slice(0, Math.min(6, 50 - round))
        .map((d, i) => ({ d, text: `plaintext-${round + i}-${d.identity}` }));
      const sent = await Promise.all(batch.map(({ d, text }) => d.sendText(conversationId, text)));
      for (const { text } of batch.map((b, i) => ({ ...b, seq: sent[i]!.seq })).sort((x, y) => x.seq - y.seq)) {
        texts.push(text);
      }
      newest = Math.max(newest, ...sent.map((m) => m.seq));
    }
    await settle(all(), newest);
    for (const d of all()) expect(d.texts).toEqual(texts);
    for (const m of await Promise.all(all().map((d) => d.lastSeq))) expect(m).toBe(newest);
    expect(await findInStore(['plaintext-'])).toEqual([]);
  }, 120_000);

  it('two commits for one epoch through different endpoints: one is stored, the other CONFLICT; the loser retries and the group converges', async () => {
    const [a1] = alice;
    const [b1] = bob;
    const epoch = await epochOf(a1!, conversationId);
    const [pa, pb] = await Promise.all([a1!.mls.commit(), b1!.mls.commit()]);
    const [ra, rb] = await Promise.all([
      a1!.send(conversationId, pa.commit, null),
      b1!.send(conversationId, pb.commit, null),
    ]);
    const outcomes = [ra, rb].map((r) => (r.errors ? codes(r)[0] : 'OK')).sort();
    expect(outcomes).toEqual(['CONFLICT', 'OK']);
    const [winner, loser] = ra.errors ? [b1!, a1!] : [a1!, b1!];
    (ra.errors ? pb : pa).apply();
    newest = (ra.errors ? rb : ra).data.sendMlsMessage.seq;
    expect(await epochOf(a1!, conversationId)).toBe(epoch + 1);
    await settle(all(), newest);
    // The loser processed the winner's commit; its own retried commit wins the next epoch.
    const retried = await loser.commit(conversationId);
    expect(retried.errors).toBeUndefined();
    newest = retried.data.sendMlsMessage.seq;
    await settle(all(), newest);
    expect(new Set(all().map((d) => d.mls.epochAuthenticator)).size).toBe(1);
    expect(Number(winner.mls.epoch)).toBe(epoch + 2);
    expect(await epochOf(a1!, conversationId)).toBe(epoch + 2);
  }, 60_000);

  it('a device offline for 20 commits and messages comes back with positions and catches up to the current epoch', async () => {
    const c2 = carol[1]!;
    await c2.stopListening();
    const others = all().filter((d) => d !== c2);
    for (let i = 0; i < 10; i++) {
      const committer = others[i % others.length]!;
      const res = await committer.commit(conversationId);
      expect(res.errors).toBeUndefined();
      newest = res.data.sendMlsMessage.seq;
      await settle(others, newest);
      newest = (await others[(i + 1) % others.length]!.sendText(conversationId, `while away ${i}`)).seq;
      await settle(others, newest);
    }
    c2.listen({ conversationId, after: c2.lastId! });
    await settle([c2], newest);
    expect(c2.mls.epochAuthenticator).toBe(alice[0]!.mls.epochAuthenticator);
    expect(c2.texts.slice(-10)).toEqual(Array.from({ length: 10 }, (_, i) => `while away ${i}`));
  }, 120_000);

  it('Bob leaves; a member commits the removal of his devices; he receives nothing after, and cannot read what follows', async () => {
    const [a1] = alice;
    const left = await gqlOk(
      bob[0]!.at.url,
      'mutation($c: ID!) { leaveConversation(conversationId: $c) }',
      { c: conversationId },
      bob[0]!.token,
    );
    expect(left.leaveConversation).toBe(true);
    expect(await membersOf(a1!, conversationId)).toEqual([alice[0]!.user.id, carol[0]!.user.id].sort());
    const bobLeaves = bob.map((d) => a1!.mls.leafOf(d.identity)!);
    const removal = await a1!.commit(conversationId, { remove: bobLeaves });
    expect(removal.errors).toBeUndefined();
    newest = removal.data.sendMlsMessage.seq;
    const stay = [...alice, ...carol];
    await settle(stay, newest);
    const after = await alice[1]!.sendText(conversationId, 'after bob left');
    newest = after.seq;
    await settle(stay, newest);
    for (const d of bob) await d.expectSilence(300);
    await expect(bob[0]!.mls.receive(after.mls.message)).rejects.toThrow();
    expect(new Set(stay.map((d) => d.mls.epochAuthenticator)).size).toBe(1);
    // Sending as a non-member: FORBIDDEN.
    expect(codes(await bob[0]!.send(conversationId, after.mls.message))).toEqual(['FORBIDDEN']);
  }, 60_000);

  it("a new device of Carol's (a new session) is added by a member's commit and reads from there on", async () => {
    const c3 = await Device.logIn(carol[0]!.user, endpoints().at(-1)!, 2);
    c3.listen();
    carol.push(c3);
    const [a2] = [alice[1]!];
    const kps = await a2.claim([carol[0]!.user.id]);
    expect(kps).toHaveLength(1);
    const res = await a2.commit(conversationId, { add: kps });
    expect(res.errors).toBeUndefined();
    newest = res.data.sendMlsMessage.seq;
    const members = [...alice, ...carol];
    await settle(members, newest);
    expect(c3.mls.joined).toBe(true);
    newest = (await carol[0]!.sendText(conversationId, 'hello new device')).seq;
    await settle(members, newest);
    expect(c3.texts).toEqual(['hello new device']);
    expect(new Set(members.map((d) => d.mls.epochAuthenticator)).size).toBe(1);
  }, 60_000);

  describe('refusals: the right code and nothing stored', () => {
    it('KeyPackages naming another user or session, with a tampered signature, or expired', async () => {
      const d = alice[0]!;
      const count = async () => (await gqlOk(d.at.url, '{ keyPackageCount }', {}, d.token)).keyPackageCount as number;
      const before = await count();
      const variants = [
        await d.mls.keyPackageWith({ identity: `${bob[0]!.user.id}:${bob[0]!.sessionId}` }),
        await d.mls.keyPackageWith({ identity: `${d.user.id}:${alice[1]!.sessionId}` }),
        await d.mls.keyPackageWith({ tamper: true }),
        await d.mls.keyPackageWith({
          lifetime: { notBefore: 0n, notAfter: BigInt(Math.floor(Date.now() / 1000) - 3600) },
        }),
        'not base64 !!',
        Buffer.from('garbage bytes').toString('base64'),
      ];
      for (const kp of variants) {
        const [good] = await d.mls.keyPackages(1);
        const res = await gql(
          d.at.url,
          'mutation($k: [String!]!) { uploadKeyPackages(keyPackages: $k) }',
          { k: [good, kp] },
          d.token,
        );
        expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      }
      expect(await count()).toBe(before);
    });

    it('a commit for a stale epoch, a commit as a PrivateMessage, another group, garbage, oversized', async () => {
      const d = alice[0]!;
      const before = await historyLength(d, conversationId);
      const stale = await d.mls.commit();
      const staleApplication = await d.mls.encrypt('sent in an epoch about to end');
      // Another member commits first: the stale one then names a past epoch.
      const first = await carol[0]!.commit(conversationId);
      expect(first.errors).toBeUndefined();
      newest = first.data.sendMlsMessage.seq;
      expect(codes(await d.send(conversationId, stale.commit))).toEqual(['CONFLICT']);
      expect(codes(await d.send(conversationId, staleApplication))).toEqual(['CONFLICT']);
      await settle([...alice, ...carol], newest);
      const asPrivate = await d.mls.commitAsPrivateMessage();
      expect(codes(await d.send(conversationId, asPrivate.commit))).toEqual(['BAD_USER_INPUT']);
      // An application message re-labelled with another group id.
      const message = decodeMlsMessageBase64(await d.mls.encrypt('x'));
      if (message.wireformat !== 'mls_private_message') throw new Error('expected a PrivateMessage');
      const other = encodeMlsMessageBase64({
        ...message,
        privateMessage: { ...message.privateMessage, groupId: new Uint8Array(16).fill(7) },
      });
      expect(codes(await d.send(conversationId, other))).toEqual(['BAD_USER_INPUT']);
      expect(codes(await d.send(conversationId, '%%% not base64'))).toEqual(['BAD_USER_INPUT']);
      expect(codes(await d.send(conversationId, Buffer.from('not an MLS message').toString('base64')))).toEqual([
        'BAD_USER_INPUT',
      ]);
      const big = await d.mls.encrypt('y'.repeat(130 * 1024));
      expect(codes(await d.send(conversationId, big))).toEqual(['BAD_USER_INPUT']);
      // Plaintext operations do not apply.
      const plain = await gql(
        d.at.url,
        'mutation($c: ID!) { sendMessage(conversationId: $c, content: "hi") { id } }',
        { c: conversationId },
        d.token,
      );
      expect(codes(plain)).toEqual(['BAD_USER_INPUT']);
      expect(await historyLength(d, conversationId)).toBe(before + 1);
    });

    it("a revoked session's KeyPackages are deleted: no one can claim them", async () => {
      const [kept, revoked] = await userWithDevices(endpoints(), 2, 'erin', 3);
      const [claimer] = await userWithDevices(endpoints(), 1, 'frank', 0);
      await gqlOk(
        kept!.at.url,
        'mutation($s: ID!) { revokeSession(sessionId: $s) }',
        { s: revoked!.sessionId },
        kept!.token,
      );
      const claimed = (await gqlOk(claimer!.at.url, CLAIM_KPS, { u: [kept!.user.id] }, claimer!.token))
        .claimKeyPackages as { sessionId: string }[];
      expect(claimed.map((k) => k.sessionId)).toEqual([kept!.sessionId]);
      // Not only unclaimable: gone from the store.
      expect(await findInStore(revoked!.uploaded.map((kp) => kp.slice(-40)))).toEqual([]);
    });

    it('a claimed KeyPackage is never handed out twice: 100 concurrent claims for a user with 10', async () => {
      const [owner] = await userWithDevices(endpoints(), 1, 'dana', 0);
      await owner!.upload(10, true);
      const claimers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => userWithDevices(endpoints(), 1, `claimer${i}`, 0)),
      );
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) => {
          const c = claimers[i % claimers.length]![0]!;
          return gqlOk(c.at.url, CLAIM_KPS, { u: [owner!.user.id] }, c.token);
        }),
      );
      const handed = answers.map((a) => a.claimKeyPackages[0].keyPackage as string);
      const counts = new Map<string, number>();
      for (const kp of handed) counts.set(kp, (counts.get(kp) ?? 0) + 1);
      // Ten handed out once each; the last-resort one to the other 90.
      const once = [...counts.values()].filter((n) => n === 1).length;
      expect(once).toBe(10);
      expect([...counts.values()].sort((x, y) => y - x)[0]).toBe(90);
      expect(counts.size).toBe(11);
    }, 60_000);
  });
}
