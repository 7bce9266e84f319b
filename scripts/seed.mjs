// Demo data through the public API of a running server, so it lands in whatever store that server uses:
//   npm run seed                       # against http://localhost:4000/graphql
//   SEED_URL=http://host:port/graphql npm run seed
// Creates (or, run again, logs in) alice, bob, carol and dave (password "password-123"), makes alice and bob
// and bob and carol friends, a group "Lunch" of alice, bob and carol with a few messages, a reaction and a read
// receipt, and a direct conversation of alice and bob with history; prints each user's token as shell exports.
const url = process.env.SEED_URL ?? 'http://localhost:4000/graphql';
const PASSWORD = 'password-123';

async function gql(query, variables = {}, token) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors?.length) {
    const error = new Error(body.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; '));
    error.code = body.errors[0].extensions?.code;
    throw error;
  }
  return body.data;
}

async function account(username) {
  const fields = '{ token user { id username } }';
  try {
    return (
      await gql(`mutation($u: String!, $p: String!) { signUp(username: $u, password: $p) ${fields} }`, {
        u: username,
        p: PASSWORD,
      })
    ).signUp;
  } catch (error) {
    if (error.code !== 'CONFLICT') throw error;
    return (
      await gql(`mutation($u: String!, $p: String!) { logIn(username: $u, password: $p) ${fields} }`, {
        u: username,
        p: PASSWORD,
      })
    ).logIn;
  }
}

const send = async (from, c, content) =>
  (
    await gql(
      'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { id } }',
      { c, t: content },
      from.token,
    )
  ).sendMessage.id;

async function main() {
  const users = {};
  for (const name of ['alice', 'bob', 'carol', 'dave']) users[name] = await account(name);
  const befriend = (a, b) =>
    gql('mutation($u: ID!) { addFriend(userId: $u) { id } }', { u: users[b].user.id }, users[a].token);
  for (const [a, b] of [
    ['alice', 'bob'],
    ['bob', 'carol'],
  ]) {
    await befriend(a, b);
    await befriend(b, a);
  }
  const group = (
    await gql(
      'mutation($m: [ID!]!) { createGroup(title: "Lunch", memberIds: $m) { id } }',
      { m: [users.bob.user.id, users.carol.user.id] },
      users.alice.token,
    )
  ).createGroup.id;
  const noon = await send(users.alice, group, 'Noon at the usual place?');
  await send(users.bob, group, 'Works for me');
  const last = await send(users.carol, group, 'Running 10 minutes late');
  await gql('mutation($m: ID!) { addReaction(messageId: $m, emoji: "👍") { id } }', { m: noon }, users.bob.token);
  await gql(
    'mutation($c: ID!, $m: ID!) { markRead(conversationId: $c, messageId: $m) { id } }',
    { c: group, m: last },
    users.alice.token,
  );

  const direct = (
    await gql(
      'mutation($u: ID!) { openDirectConversation(userId: $u) { id } }',
      { u: users.bob.user.id },
      users.alice.token,
    )
  ).openDirectConversation.id;
  for (let i = 1; i <= 30; i++) await send(i % 2 ? users.alice : users.bob, direct, `Message ${i} of our chat history`);

  console.log(`# Demo data at ${url}: group ${group} ("Lunch"), direct conversation ${direct} (alice and bob).`);
  console.log(`# Every user's password is ${PASSWORD}. Paste these into a shell:`);
  for (const [name, { token, user }] of Object.entries(users)) {
    console.log(`export ${name.toUpperCase()}=${token} ${name.toUpperCase()}_ID=${user.id}`);
  }
  console.log(`export GROUP=${group} DIRECT=${direct}`);
}

main().catch((error) => {
  console.error(`seed failed against ${url}: ${error.message}`);
  process.exit(1);
});
