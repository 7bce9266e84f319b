// The few operations the page itself sends over HTTP, beside what GraphiQL runs: signing in, renewing the
// session, and asking who the token belongs to.

/** What logIn and renewSession hand out: an access token, when it expires, and the refresh token that renews it. */
const PAIR = 'token expiresAt refreshToken user { id username }';
const LOG_IN = `mutation PageLogIn($username: String!, $password: String!, $deviceName: String) {
  logIn(username: $username, password: $password, deviceName: $deviceName) { ${PAIR} }
}`;
const RENEW_SESSION = `mutation PageRenewSession($refreshToken: String!) { renewSession(refreshToken: $refreshToken) { ${PAIR} } }`;
const LOG_OUT = 'mutation PageLogOut { logOut }';
const ME = 'query PageMe { me { username } }';

/** The name under which the server lists sessions signed in from this page (Session.deviceName). */
const DEVICE_NAME = 'GraphiQL';

/** POSTs one operation to `url` and returns its answer ({ data, errors }); a network failure rejects. */
export async function post(url, body, headers = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return response.json();
}

/** Whether an answer was refused for want of a valid token (or for a wrong password). */
export const isUnauthenticated = (result) =>
  Boolean(result?.errors?.some((error) => error?.extensions?.code === 'UNAUTHENTICATED'));

/** An answer's first error as an Error carrying its `extensions.code`, or its data when it has none. */
async function dataOf(answer) {
  const result = await answer;
  const [first] = result?.errors ?? [];
  if (!first && result?.data) return result.data;
  const error = new Error(first?.message ?? 'No data in the answer.');
  error.code = first?.extensions?.code;
  throw error;
}

/** Signs in with a password: the AuthPayload of a new session named after this page. */
export async function logIn(url, username, password) {
  const variables = { username, password, deviceName: DEVICE_NAME };
  return (await dataOf(post(url, { query: LOG_IN, variables }))).logIn;
}

/** Spends `refreshToken` for a new pair (single use: the caller makes sure it is spent once). */
export async function renewSession(url, refreshToken) {
  return (await dataOf(post(url, { query: RENEW_SESSION, variables: { refreshToken } }))).renewSession;
}

/** Ends the session of `authorization` on the server. */
export async function logOut(url, authorization) {
  await dataOf(post(url, { query: LOG_OUT }, { authorization }));
}

/** Who `authorization` signs in: the answer to `{ me { username } }`, errors and all. */
export function whoAmI(url, authorization) {
  return post(url, { query: ME }, { authorization });
}
