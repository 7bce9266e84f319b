// Media: --clients clients upload and complete --images images of about 2 MB each (noise JPEGs, 3.2 megapixels, made with
// sharp, so that each is its own and compresses like a photo), straight to this server's local media store
// (the embedded default), while one more client sends a message every 100 ms to a group of its own.
// Prints completes/s, p50/p99 of completeUpload, the server's peak RSS, and sendMessage latency during the
// uploads against an idle baseline (the issue asks for within 2x).
//
//   npm run build && node bench/media.mjs [--clients 20] [--images 200] [--megapixels 3.2]
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { postGraphql, startBenchServer } from './server.mjs';

const flags = process.argv.slice(2);
const option = (name, fallback) => {
  const i = flags.indexOf(`--${name}`);
  return i >= 0 ? Number(flags[i + 1]) : fallback;
};
const CLIENTS = option('clients', 20);
const IMAGES = option('images', 200);
const MEGAPIXELS = option('megapixels', 3.2);
const say = (line) => process.stderr.write(`${line}\n`);
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const ms = (n) => `${n.toFixed(1)} ms`;

const CREATE = `mutation($i: CreateUploadInput!) { createUpload(input: $i) { id url method headers { name value } } }`;
const COMPLETE = 'mutation($u: ID!) { completeUpload(uploadId: $u) { id width height } }';
const SIGN_UP = 'mutation($u: String!) { signUp(username: $u, password: "password-123") { token user { id } } }';
const SEND = 'mutation($c: ID!, $t: String!) { sendMessage(conversationId: $c, content: $t) { id } }';

/** A JPEG of random noise: about 2 MB at 3.2 megapixels. */
async function noiseJpeg(seed) {
  const side = Math.round(Math.sqrt(MEGAPIXELS * 1e6));
  const raw = Buffer.alloc(side * side * 3);
  let x = seed * 2654435761;
  for (let i = 0; i < raw.length; i++) raw[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return sharp(raw, { raw: { width: side, height: side, channels: 3 } })
    .jpeg({ quality: 80 })
    .toBuffer();
}

const server = await startBenchServer({
  env: { UPLOAD_RATE_BURST: '100000', UPLOAD_RATE_PER_SECOND: '100000', UPLOAD_BYTES_PER_DAY: String(1e12) },
});
let peakRss = 0;
const rssTimer = setInterval(() => {
  try {
    const status = readStatus(server.child.pid);
    peakRss = Math.max(peakRss, status);
  } catch {
    // the process is gone
  }
}, 50);
function readStatus(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(text)[1]) * 1024;
}

try {
  const users = await Promise.all(
    Array.from({ length: CLIENTS + 1 }, (_, i) =>
      postGraphql(server.url, SIGN_UP, { u: `media_${i}_${Date.now() % 1e6}` }),
    ),
  );
  const sender = users[CLIENTS].signUp;
  const group = (
    await postGraphql(server.url, 'mutation { createGroup(title: "bench", memberIds: []) { id } }', {}, sender.token)
  ).createGroup.id;

  /** sendMessage round trips, one every 100 ms, until `stop()`. */
  function sendLoop() {
    const latencies = [];
    let running = true;
    const done = (async () => {
      for (let i = 0; running; i++) {
        const t0 = performance.now();
        await postGraphql(server.url, SEND, { c: group, t: `m${i}` }, sender.token);
        latencies.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    return {
      async stop() {
        running = false;
        await done;
        return latencies.sort((a, b) => a - b);
      },
    };
  }

  say(`making ${CLIENTS} distinct images of ${MEGAPIXELS} megapixels...`);
  const images = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => noiseJpeg(i + 1)));
  const meanBytes = images.reduce((n, b) => n + b.length, 0) / images.length;

  const idle = sendLoop();
  await new Promise((r) => setTimeout(r, 3000));
  const idleLatencies = await idle.stop();

  const busy = sendLoop();
  const completes = [];
  let retries = 0;
  const started = performance.now();
  let next = 0;
  await Promise.all(
    users.slice(0, CLIENTS).map(async ({ signUp: { token } }, c) => {
      const bytes = images[c];
      while (next < IMAGES) {
        next++;
        const upload = (
          await postGraphql(
            server.url,
            CREATE,
            { i: { purpose: 'ATTACHMENT', fileName: 'photo.jpg', contentType: 'image/jpeg', byteSize: bytes.length } },
            token,
          )
        ).createUpload;
        const headers = Object.fromEntries(upload.headers.map((h) => [h.name, h.value]));
        const put = await fetch(upload.url, { method: upload.method, headers, body: bytes });
        if (!put.ok) throw new Error(`upload refused: ${put.status} ${await put.text()}`);
        // Past IMAGE_QUEUE the server answers RATE_LIMITED, as it should: a client waits and tries again.
        const t0 = performance.now();
        for (;;) {
          try {
            await postGraphql(server.url, COMPLETE, { u: upload.id }, token);
            break;
          } catch (error) {
            if (!String(error).includes('RATE_LIMITED')) throw error;
            retries++;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        completes.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const busyLatencies = await busy.stop();
  completes.sort((a, b) => a - b);

  const p50idle = percentile(idleLatencies, 50);
  const p50busy = percentile(busyLatencies, 50);
  const rows = [
    ['images', `${IMAGES} of ${(meanBytes / 1e6).toFixed(2)} MB from ${CLIENTS} clients`],
    ['completes/s (upload + complete)', (IMAGES / seconds).toFixed(1)],
    [
      'completeUpload p50 / p99 (retries included)',
      `${ms(percentile(completes, 50))} / ${ms(percentile(completes, 99))}`,
    ],
    ['completeUpload answered RATE_LIMITED', `${retries} times (IMAGE_QUEUE full; retried after 100 ms)`],
    ['server RSS peak', `${(peakRss / 2 ** 20).toFixed(0)} MB`],
    ['sendMessage p50 / p99, idle', `${ms(p50idle)} / ${ms(percentile(idleLatencies, 99))}`],
    ['sendMessage p50 / p99, during uploads', `${ms(p50busy)} / ${ms(percentile(busyLatencies, 99))}`],
    ['sendMessage p50 during ÷ idle', `${(p50busy / p50idle).toFixed(2)}x`],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(40)} ${v}`);
} finally {
  clearInterval(rssTimer);
  server.child.kill('SIGTERM');
}
