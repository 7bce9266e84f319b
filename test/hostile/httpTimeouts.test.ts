import { connect, type Socket } from 'node:net';
import { gqlOk, signUpMany, subscribe, wsClient } from '../helpers/client';
import { CREATE_GROUP, MESSAGE_ADDED_IDS, SEND } from '../helpers/operations';
import { useTestServer } from '../helpers/server';

/** Every HTTP timeout short, so that a WebSocket connection outlives each of them several times. */
const server = useTestServer({
  httpRequestTimeouts: { headersMs: 500, requestMs: 1000, checkIntervalMs: 100 },
  env: { HTTP_WRITE_TIMEOUT_MS: '500', HTTP_KEEP_ALIVE_TIMEOUT_MS: '500' },
});

/** A raw connection to the server, and when it was closed (by the server: the test never closes it first). */
function rawConnection() {
  const socket: Socket = connect({ host: '127.0.0.1', port: server.port });
  const opened = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)));
  socket.on('error', () => undefined);
  return { socket, closed };
}

const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<'not closed'>((r) => setTimeout(() => r('not closed'), ms))]);

describe('clients that send their requests slowly', () => {
  it('are disconnected once the headers take longer than the headers timeout (slowloris)', async () => {
    const { socket, closed } = rawConnection();
    socket.write('POST /graphql HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => socket.write('X-Padding: x\r\n'), 100);
    try {
      // 500 ms, checked every 100 ms; generous for a loaded machine, far below node's default of 60 s.
      expect(await within(closed, 5000)).toBeLessThan(5000);
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
  });

  it('are disconnected once the body takes longer than the request timeout', async () => {
    const { socket, closed } = rawConnection();
    socket.write(
      'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n',
    );
    const drip = setInterval(() => socket.write(' '), 100);
    try {
      expect(await within(closed, 5000)).toBeLessThan(5000);
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
  });
});

describe('WebSocket connections on the same server', () => {
  it('outlive the headers, request, keep-alive and write timeouts and keep delivering', async () => {
    const [alice, bob] = await signUpMany(server.url, 2, 'timeouts');
    const c = (await gqlOk(server.url, CREATE_GROUP, { t: 'ws', m: [bob!.id] }, alice!.token)).createGroup.id;
    const client = wsClient(server.wsUrl, bob!.token);
    let closedWith: unknown = null;
    client.on('closed', (event) => (closedWith = (event as { code?: number }).code ?? event));
    const messages = subscribe(client, MESSAGE_ADDED_IDS);
    await server.pubsub.waitForSubscribers('messageAdded', bob!.id);
    // Idle for three request timeouts, six headers, keep-alive and write timeouts.
    await new Promise((r) => setTimeout(r, 3000));
    const sent = await gqlOk(server.url, SEND, { c, t: 'still there?' }, alice!.token);
    expect((await messages.take(1))[0].messageAdded.id).toBe(sent.sendMessage.id);
    expect(closedWith).toBeNull();
    messages.dispose();
    await client.dispose();
  });
});
