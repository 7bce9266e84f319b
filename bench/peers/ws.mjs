// Peer for the fan-out bench: the practical floor, raw `ws` with one ioredis subscription per group
// channel per process. A client connects with ?user=&group=; a { ref, content } frame is published to the
// group's channel and acknowledged with { ack: ref }; what the channel carries is written to every local
// member as received.
//   PORT=... REDIS_URL=... node bench/peers/ws.mjs
import { Redis } from 'ioredis';
import { WebSocketServer } from 'ws';

const publisher = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const subscriber = publisher.duplicate();
/** channel -> the local sockets of its group */
const members = new Map();
subscriber.on('messageBuffer', (channel, payload) => {
  for (const socket of members.get(channel.toString()) ?? []) socket.send(payload, { binary: false });
});
let next = 0;
const server = new WebSocketServer({ port: Number(process.env.PORT ?? 0), perMessageDeflate: false });
server.on('connection', (socket, request) => {
  const params = new URL(request.url ?? '/', 'http://peer').searchParams;
  const user = params.get('user');
  const channel = `group:${params.get('group')}`;
  if (!members.has(channel)) {
    members.set(channel, new Set());
    void subscriber.subscribe(channel);
  }
  members.get(channel).add(socket);
  socket.on('message', async (data) => {
    const { ref, content } = JSON.parse(String(data));
    await publisher.publish(channel, JSON.stringify({ id: String(++next), from: user, content }));
    socket.send(JSON.stringify({ ack: ref }));
  });
  socket.on('close', () => members.get(channel)?.delete(socket));
});
server.on('listening', () => console.error(`ready: ${server.address().port}`));
