/**
 * Issue 20, names: a client choosing a display name or group title that shows
 * as nothing at all, or that is stored in a different form from the same
 * name typed on another device.
 */
import { codes, gql, gqlOk, signUp, uniqueName, type TestUser } from '../helpers/client';
import { CREATE_GROUP } from '../helpers/operations';
import { useTestServer } from '../helpers/server';

const server = useTestServer();

const SIGN_UP = `mutation($u: String!, $d: String) {
  signUp(username: $u, password: "long enough", displayName: $d) { user { displayName } }
}`;
const GROUP_TITLE = 'mutation($t: String!) { createGroup(title: $t, memberIds: []) { title } }';

/** Names a client can send that a screen shows as blank: fillers and spaces outside \s, alone or together. */
const blankLooking: [string, string][] = [
  ['HANGUL FILLER U+3164', '\u3164'],
  ['three HANGUL FILLERs', '\u3164\u3164\u3164'],
  ['BRAILLE PATTERN BLANK U+2800', '\u2800'],
  ['HANGUL CHOSEONG and JUNGSEONG FILLER U+115F U+1160', '\u115F\u1160'],
  ['HALFWIDTH HANGUL FILLER U+FFA0', '\uFFA0'],
  ['fillers between spaces', ' \u3164 \u2800 '],
  ['EN QUAD to HAIR SPACE U+2000-U+200A', '\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A'],
  ['MEDIUM MATHEMATICAL SPACE and IDEOGRAPHIC SPACE', '\u205F\u3000'],
  ['a COMBINING GRAPHEME JOINER U+034F', '\u034F'],
  ['a lone VARIATION SELECTOR-16', '\uFE0F'],
  ['combining marks with nothing to sit on', '\u0301\u0308'],
  ['a filler carrying a combining mark', '\u3164\u0301'],
];

describe('display names and group titles that show as nothing', () => {
  let owner: TestUser;
  beforeAll(async () => {
    owner = await signUp(server.url, 'titler');
  });

  it.each(blankLooking)('refuses a display name of %s with BAD_USER_INPUT, creating no account', async (_what, d) => {
    const u = uniqueName('blank');
    const res = await gql(server.url, SIGN_UP, { u, d });
    expect({ codes: codes(res), field: res.errors?.[0]?.extensions?.field, data: res.data }).toEqual({
      codes: ['BAD_USER_INPUT'],
      field: 'displayName',
      data: null,
    });
    expect(codes(await gql(server.url, SIGN_UP, { u, d: 'Visible' }))).toEqual([]);
  });

  it.each(blankLooking)('refuses a group title of %s with BAD_USER_INPUT, creating no group', async (_what, t) => {
    const res = await gql(server.url, GROUP_TITLE, { t }, owner.token);
    expect({ codes: codes(res), field: res.errors?.[0]?.extensions?.field }).toEqual({
      codes: ['BAD_USER_INPUT'],
      field: 'title',
    });
    const listed = await gqlOk(
      server.url,
      '{ conversations(first: 100) { edges { node { title } } } }',
      {},
      owner.token,
    );
    expect(listed.conversations.edges.map((e: { node: { title: string } }) => e.node.title)).not.toContain(t);
  });

  it('keeps a name that has a visible character among fillers, as given', async () => {
    const d = 'Ana\u3164';
    expect((await gqlOk(server.url, SIGN_UP, { u: uniqueName(), d })).signUp.user.displayName).toBe(d);
  });
});

describe('names are stored in one Unicode form (NFC)', () => {
  it.each([
    ['a decomposed é (e + U+0301)', 'Jose\u0301', 'Jos\u00E9'],
    ['a decomposed ë and å', 'Zoe\u0308 A\u030Angstro\u0308m', 'Zo\u00EB \u00C5ngstr\u00F6m'],
    ['conjoining Hangul jamo', '\u1100\u1161\u11A8', '\uAC01'],
    ['an ANGSTROM SIGN U+212B', '\u212B', '\u00C5'],
  ])('stores a display name with %s composed', async (_what, d, stored) => {
    const up = await gqlOk(server.url, SIGN_UP, { u: uniqueName(), d });
    expect(up.signUp.user.displayName).toBe(stored);
  });

  it('stores a group title composed, and counts its length once composed', async () => {
    const owner = await signUp(server.url, 'nfc');
    const title = (await gqlOk(server.url, GROUP_TITLE, { t: 'Cafe\u0301' }, owner.token)).createGroup.title;
    expect(title).toBe('Caf\u00E9');
    // 64 decomposed é are 128 code points as sent and 64 as stored: within the display name's 64.
    const d = 'e\u0301'.repeat(64);
    expect((await gqlOk(server.url, SIGN_UP, { u: uniqueName(), d })).signUp.user.displayName).toBe(
      '\u00E9'.repeat(64),
    );
    const c = (await gqlOk(server.url, CREATE_GROUP, { t: 'e\u0301'.repeat(100), m: [] }, owner.token)).createGroup.id;
    const shown = await gqlOk(server.url, 'query($c: ID!) { conversation(id: $c) { title } }', { c }, owner.token);
    expect(shown.conversation.title).toBe('\u00E9'.repeat(100));
  });
});

describe('look-alikes', () => {
  it('shows a mixed-script display name as given: the username, ASCII only, is the identity', async () => {
    // "Admin" with a Cyrillic А (U+0410): refused as a username, kept as a display name.
    const d = '\u0410dmin';
    expect(codes(await gql(server.url, SIGN_UP, { u: '\u0430dmin', d }))).toEqual(['BAD_USER_INPUT']);
    const up = await gqlOk(server.url, SIGN_UP, { u: uniqueName('admin'), d });
    expect(up.signUp.user.displayName).toBe(d);
  });
});
