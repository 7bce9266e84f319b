/**
 * The test MLS client (test/helpers/mlsClient.ts) on its own, without a server: a `deliver` function plays the
 * server's part, echoing every message to every device of the group (the sender's included), in one order.
 */
import { verifyKeyPackage } from 'ts-mls/keyPackage.js';
import { decodeMlsMessageBase64, MlsDevice, mlsCiphersuite } from '../helpers/mlsClient';

const ids = { alice: 'alice:s1', bob1: 'bob:s1', bob2: 'bob:s2', carol: 'carol:s1' };

/** Delivers one message to each device in turn, as the server's fan-out would; returns what each made of it. */
async function deliver(devices: MlsDevice[], message: string) {
  const out = [];
  for (const device of devices) out.push(await device.receive(message));
  return out;
}

describe('MlsDevice', () => {
  let alice: MlsDevice;
  let bob1: MlsDevice;
  let bob2: MlsDevice;
  let carol: MlsDevice;

  beforeAll(async () => {
    [alice, bob1, bob2, carol] = await Promise.all(Object.values(ids).map((id) => MlsDevice.create(id)));
  });

  test('a group of four devices: one commit adds three, all decrypt, a removed device can no longer', async () => {
    const groupId = await alice.createGroup();
    expect(Buffer.from(groupId, 'base64')).toHaveLength(16);
    expect(alice.epoch).toBe(0n);
    expect(alice.members()).toEqual([ids.alice]);

    const [bob1Kp] = await bob1.keyPackages(2);
    const [bob2Kp] = await bob2.keyPackages(1);
    const [carolKp] = await carol.keyPackages(1);
    const adding = await alice.commit({ add: [bob1Kp, bob2Kp, carolKp] });
    expect(decodeMlsMessageBase64(adding.commit).wireformat).toBe('mls_public_message');
    expect(adding.epoch).toBe(0n);
    expect(adding.welcome).not.toBeNull();
    expect(alice.epoch).toBe(0n); // not before apply()
    adding.apply();
    expect(alice.epoch).toBe(1n);
    // The echo of an applied commit is recognised and skipped.
    await expect(alice.receive(adding.commit)).resolves.toEqual({
      kind: 'commit',
      own: true,
      epoch: 1n,
      removed: false,
    });

    for (const device of [bob1, bob2, carol]) await device.join(adding.welcome!);
    const everyone = [alice, bob1, bob2, carol];
    for (const device of everyone) {
      expect(device.epoch).toBe(1n);
      expect(device.groupId).toBe(groupId);
      expect(device.members()).toEqual([ids.alice, ids.bob1, ids.bob2, ids.carol]);
      expect(device.epochAuthenticator).toBe(alice.epochAuthenticator);
    }
    expect(everyone.map((d) => d.leafIndex)).toEqual([0, 1, 2, 3]);

    const hello = await bob2.encrypt('hello from bob2');
    expect(decodeMlsMessageBase64(hello).wireformat).toBe('mls_private_message');
    expect(await deliver(everyone, hello)).toEqual([
      { kind: 'application', text: 'hello from bob2', own: false },
      { kind: 'application', text: 'hello from bob2', own: false },
      { kind: 'application', text: 'hello from bob2', own: true },
      { kind: 'application', text: 'hello from bob2', own: false },
    ]);
    const hi = await carol.encrypt('hi all 👋');
    expect((await deliver(everyone, hi)).map((r) => r.kind === 'application' && r.text)).toEqual(
      Array(4).fill('hi all 👋'),
    );

    // Carol removes bob2; the server echoes the commit before Carol's mutation returns (so before apply()).
    const removing = await carol.commit({ remove: [bob2.leafIndex] });
    expect(removing.welcome).toBeNull();
    expect(await deliver(everyone, removing.commit)).toEqual([
      { kind: 'commit', own: false, epoch: 2n, removed: false },
      { kind: 'commit', own: false, epoch: 2n, removed: false },
      { kind: 'commit', own: false, epoch: 1n, removed: true }, // a removed device stays in its last epoch
      { kind: 'commit', own: true, epoch: 2n, removed: false },
    ]);
    removing.apply(); // a no-op now
    const remaining = [alice, bob1, carol];
    for (const device of remaining) {
      expect(device.epoch).toBe(2n);
      expect(device.members()).toEqual([ids.alice, ids.bob1, null, ids.carol]);
      expect(device.epochAuthenticator).toBe(alice.epochAuthenticator);
    }

    const secret = await alice.encrypt('bob2 cannot read this');
    expect((await deliver(remaining, secret)).map((r) => r.kind === 'application' && r.text)).toEqual(
      Array(3).fill('bob2 cannot read this'),
    );
    await expect(bob2.receive(secret)).rejects.toThrow();
  });

  test('two commits for one epoch: the loser processes the winner, then commits again', async () => {
    const [a, b, c] = await Promise.all(['a:1', 'b:1', 'c:1'].map((id) => MlsDevice.create(id)));
    await a.createGroup();
    const adding = await a.commit({ add: [...(await b.keyPackages(1)), ...(await c.keyPackages(1))] });
    adding.apply();
    await b.join(adding.welcome!);
    await c.join(adding.welcome!);
    const all = [a, b, c];

    const [d1, d2] = await Promise.all(['d:1', 'd:2'].map((id) => MlsDevice.create(id)));
    const fromB = await b.commit({ add: await d1.keyPackages(1) });
    const fromC = await c.commit({ add: await d2.keyPackages(1) });
    // The server takes c's commit and refuses b's (CONFLICT); everyone gets c's.
    await deliver(all, fromC.commit);
    await d2.join(fromC.welcome!);
    expect(() => fromB.apply()).toThrow(/moved on/);
    const retry = await b.commit({ add: await d1.keyPackages(1) });
    expect(retry.epoch).toBe(2n);
    retry.apply();
    await deliver([a, c, d2], retry.commit);
    await d1.join(retry.welcome!);

    const group = [a, b, c, d2, d1];
    for (const device of group) {
      expect(device.epoch).toBe(3n);
      expect(device.members()).toEqual(['a:1', 'b:1', 'c:1', 'd:2', 'd:1']);
      expect(device.epochAuthenticator).toBe(a.epochAuthenticator);
    }
    const last = await d1.encrypt('last');
    expect((await deliver(group, last)).every((r) => r.kind === 'application' && r.text === 'last')).toBe(true);
  });

  test('what a server reads: key packages, their variants, and a commit as a PrivateMessage', async () => {
    const cs = await mlsCiphersuite();
    const device = await MlsDevice.create('eve:s1');
    const keyPackageOf = (text: string) => {
      const message = decodeMlsMessageBase64(text);
      if (message.wireformat !== 'mls_key_package') throw new Error(message.wireformat);
      return message.keyPackage;
    };
    const identityOf = (kp: ReturnType<typeof keyPackageOf>) =>
      kp.leafNode.credential.credentialType === 'basic'
        ? Buffer.from(kp.leafNode.credential.identity).toString()
        : null;

    const [good] = await device.keyPackages(1);
    const kp = keyPackageOf(good);
    expect(kp.cipherSuite).toBe('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519');
    expect(identityOf(kp)).toBe('eve:s1');
    expect(await verifyKeyPackage(kp, cs.signature)).toBe(true);
    expect(kp.leafNode.leafNodeSource).toBe('key_package');

    const other = keyPackageOf(await device.keyPackageWith({ identity: 'mallory:s1' }));
    expect(identityOf(other)).toBe('mallory:s1');
    expect(await verifyKeyPackage(other, cs.signature)).toBe(true);

    const tampered = keyPackageOf(await device.keyPackageWith({ tamper: true }));
    expect(await verifyKeyPackage(tampered, cs.signature)).toBe(false);

    const hourAgo = BigInt(Math.floor(Date.now() / 1000) - 3600);
    const expired = keyPackageOf(await device.keyPackageWith({ lifetime: { notBefore: 0n, notAfter: hourAgo } }));
    expect(await verifyKeyPackage(expired, cs.signature)).toBe(true);
    expect(expired.leafNode.leafNodeSource === 'key_package' && expired.leafNode.lifetime.notAfter).toBe(hourAgo);

    await device.createGroup();
    const hidden = await device.commitAsPrivateMessage({ add: await (await MlsDevice.create('x:1')).keyPackages(1) });
    const message = decodeMlsMessageBase64(hidden.commit);
    expect(message.wireformat === 'mls_private_message' && message.privateMessage.contentType).toBe('commit');
  });
});
