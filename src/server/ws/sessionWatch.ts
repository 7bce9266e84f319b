import type { WebSocket } from 'ws';
import { revocationKey, type TokenClaims } from '../../auth/tokens';
import { MISSED_EVENTS, type Subscription } from '../../pubsub/pubsub';
import type { TokenRevokedEvent } from '../../pubsub/topics';
import type { Services } from '../../app/services';

/** WebSocket close code for a connection whose session ended: graphql-ws clients do not retry it. */
const UNAUTHORIZED = 4401;
/** WebSocket close code for an expired token: graphql-ws clients retry it with renewed connectionParams. */
const FORBIDDEN = 4403;
/** setTimeout's longest delay; a later expiry is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Every open connection's token: each is closed with 4403 when its token
 * expires (the client reconnects with a renewed one), and with 4401 when its
 * session ends on any process (one broadcast channel, `tokenRevoked:all`,
 * that every process follows). When that channel may have missed events,
 * every open connection's session is checked again.
 */
export function createSessionWatch(services: Services) {
  /** Open connections by revocation key (their session's, or their token's from before sessions). */
  const byToken = new Map<string, Set<WebSocket>>();
  const expiries = createExpiries((socket) => socket.close(FORBIDDEN, 'Forbidden: token expired'));
  let stopped = false;
  let subscription: Subscription<TokenRevokedEvent> | null = null;

  const closeAll = (key: string) => {
    for (const socket of byToken.get(key) ?? []) socket.close(UNAUTHORIZED, 'Unauthorized: session ended');
  };
  const recheckAll = async () => {
    for (const key of [...byToken.keys()]) {
      if (await services.revocations.isRevoked(key)) closeAll(key);
    }
  };

  async function follow(): Promise<void> {
    while (!stopped) {
      try {
        subscription = await services.pubsub.subscribe('tokenRevoked', 'all');
      } catch (error) {
        services.log.warn(`logOut channel: ${(error as Error).message}; trying again`);
        await new Promise((r) => setTimeout(r, 1000).unref());
        continue;
      }
      // Revocations made while this process was not listening.
      await recheckAll();
      try {
        for await (const event of subscription) {
          if (event === MISSED_EVENTS) await recheckAll();
          else closeAll(event.tokenId);
        }
      } catch (error) {
        services.log.warn(`logOut channel: ${(error as Error).message}; following it again`);
      }
    }
  }
  const following = follow().catch((error) => services.log.error('logOut channel failed', error));

  return {
    opened(socket: WebSocket, claims: TokenClaims) {
      const key = revocationKey(claims);
      let sockets = byToken.get(key);
      if (!sockets) byToken.set(key, (sockets = new Set()));
      sockets.add(socket);
      expiries.add(socket, claims.expiresAt.getTime());
    },
    closed(socket: WebSocket, claims: TokenClaims) {
      expiries.delete(socket, claims.expiresAt.getTime());
      const key = revocationKey(claims);
      const sockets = byToken.get(key);
      sockets?.delete(socket);
      if (sockets?.size === 0) byToken.delete(key);
    },
    async stop() {
      stopped = true;
      expiries.stop();
      await subscription?.return();
      await following;
    },
  };
}

/**
 * Sockets closed when their token expires, with one timer for the soonest
 * expiry instead of one per socket: tokens expire on whole seconds, so the
 * sockets are kept by expiry time, and the times in a min-heap.
 */
function createExpiries(expire: (socket: WebSocket) => void) {
  const byTime = new Map<number, Set<WebSocket>>();
  /** Expiry times, soonest first; a time whose sockets all closed stays until it comes up. */
  const heap: number[] = [];
  let timer: NodeJS.Timeout | null = null;
  let armedFor = Infinity;

  const push = (time: number) => {
    heap.push(time);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= heap[i]!) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  };
  const pop = () => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const [l, r] = [2 * i + 1, 2 * i + 2];
        let least = i;
        if (l < heap.length && heap[l]! < heap[least]!) least = l;
        if (r < heap.length && heap[r]! < heap[least]!) least = r;
        if (least === i) break;
        [heap[least], heap[i]] = [heap[i]!, heap[least]!];
        i = least;
      }
    }
    return top;
  };
  const arm = () => {
    while (heap.length > 0 && !byTime.has(heap[0]!)) pop();
    const soonest = heap[0] ?? Infinity;
    if (soonest === armedFor) return;
    if (timer) clearTimeout(timer);
    timer = null;
    armedFor = soonest;
    if (soonest === Infinity) return;
    // setTimeout's longest delay; a later expiry is waited for in steps.
    timer = setTimeout(fire, Math.max(0, Math.min(soonest - Date.now(), MAX_TIMER_MS)));
    timer.unref();
  };
  function fire() {
    timer = null;
    armedFor = Infinity;
    const now = Date.now();
    while (heap.length > 0 && heap[0]! <= now) {
      const time = pop();
      const sockets = byTime.get(time);
      byTime.delete(time);
      for (const socket of sockets ?? []) expire(socket);
    }
    arm();
  }

  return {
    add(socket: WebSocket, time: number) {
      let sockets = byTime.get(time);
      if (!sockets) {
        byTime.set(time, (sockets = new Set()));
        push(time);
      }
      sockets.add(socket);
      if (time < armedFor) arm();
    },
    delete(socket: WebSocket, time: number) {
      const sockets = byTime.get(time);
      sockets?.delete(socket);
      if (sockets?.size === 0) byTime.delete(time);
    },
    stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      armedFor = -Infinity;
    },
  };
}
