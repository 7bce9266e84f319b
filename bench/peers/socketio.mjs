// Peer for the fan-out bench: a typical Node chat server, Socket.IO rooms across processes through
// @socket.io/redis-adapter. A client connects with auth { user, group }, joins the group's room, and
// `send` broadcasts { content } to the room and acknowledges.
//   PORT=... REDIS_URL=... node bench/peers/socketio.mjs
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const publisher = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const subscriber = publisher.duplicate();
const io = new Server({ transports: ['websocket'], perMessageDeflate: false });
io.adapter(createAdapter(publisher, subscriber));
let next = 0;
io.on('connection', (socket) => {
  const { user, group } = socket.handshake.auth ?? {};
  socket.join(`group:${group}`);
  socket.on('send', ({ content }, ack) => {
    const message = { id: String(++next), from: user, content };
    io.to(`group:${group}`).emit('message', message);
    if (typeof ack === 'function') ack(message.id);
  });
});
const http = createServer();
io.attach(http);
http.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.error(`ready: ${http.address().port}`));
