// Starts dist/main.js for a bench: a free port, limits out of the way, and the URL once it is ready; and
// what every bench measures with.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import WebSocket from 'ws';

/** A TCP port that was free a moment ago. */
export async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * CPU time of the processes, all their threads, in ms: from /proc/<pid>/task/<tid>/schedstat, which counts
 * nanoseconds (utime + stime in /proc/<pid>/stat count 10 ms ticks, too coarse for Redis's share).
 */
export function cpuMs(pids) {
  let ns = 0;
  for (const pid of pids) {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // a thread that ended meanwhile
      }
    }
  }
  return ns / 1e6;
}

/**
 * The server process, its URLs, and what it logged so far. `nodeArgs` go to
 * node (e.g. --cpu-prof), `env` adds to the environment.
 */
export async function startBenchServer({ nodeArgs = [], env = {} } = {}) {
  const child = spawn(process.execPath, [...nodeArgs, 'dist/main.js'], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      JWT_SECRET: 'b'.repeat(40),
      AUTH_RATE_BURST: '100000',
      PASSWORD_HASH_QUEUE: '100000',
      MESSAGE_RATE_BURST: '100000',
      MESSAGE_RATE_PER_SECOND: '100000',
      MAX_CONNECTIONS_PER_ADDRESS: '1000000',
      // One process on Redis measures Redis delivery; the data may stay in memory then.
      MEMORY_STORE_WITH_REDIS: 'true',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  const url = await new Promise((resolve, reject) => {
    child.stderr.on('data', () => {
      const m = /ready: (\S+)/.exec(log);
      if (m) resolve(m[1]);
    });
    child.once('exit', () => reject(new Error(log)));
  });
  return { child, url, wsUrl: url.replace('http', 'ws'), log: () => log };
}

/** POSTs one operation to `url` (with a bearer token when given); its data, or an error naming its errors. */
export async function postGraphql(url, query, variables, token) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** CDP over the inspector: a full GC, then process.memoryUsage() of the server. */
export async function memoryAfterGc(server) {
  const m = /Debugger listening on (ws:\/\/\S+)/.exec(server.log());
  const socket = new WebSocket(m[1]);
  await new Promise((r) => socket.once('open', r));
  let id = 0;
  const call = (method, params = {}) =>
    new Promise((resolve) => {
      const mine = ++id;
      const onMessage = (data) => {
        const reply = JSON.parse(data);
        if (reply.id === mine) {
          socket.off('message', onMessage);
          resolve(reply.result);
        }
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id: mine, method, params }));
    });
  await call('HeapProfiler.collectGarbage');
  await call('HeapProfiler.collectGarbage');
  const { result } = await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())' });
  socket.close();
  return JSON.parse(result.value);
}
