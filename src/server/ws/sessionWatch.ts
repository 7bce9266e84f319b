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
  const expiries = new Map<WebSocket, NodeJS.Timeout>();
  let stopped = false;
  let subscription: Subscription<TokenRevokedEvent> | null = null;

  const closeAll = (key: string) => {
    for (const socket of byToken.get(key) ?? []) socket.close(UNAUTHORIZED, 'Unauthorized: session ended');
  };
  const armExpiry = (socket: WebSocket, claims: TokenClaims) => {
    const left = claims.expiresAt.getTime() - Date.now();
    const timer = setTimeout(
      () => (left > MAX_TIMER_MS ? armExpiry(socket, claims) : socket.close(FORBIDDEN, 'Forbidden: token expired')),
      Math.max(0, Math.min(left, MAX_TIMER_MS)),
    );
    timer.unref();
    expiries.set(socket, timer);
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
      armExpiry(socket, claims);
    },
    closed(socket: WebSocket, claims: TokenClaims) {
      clearTimeout(expiries.get(socket));
      expiries.delete(socket);
      const key = revocationKey(claims);
      const sockets = byToken.get(key);
      sockets?.delete(socket);
      if (sockets?.size === 0) byToken.delete(key);
    },
    async stop() {
      stopped = true;
      await subscription?.return();
      await following;
    },
  };
}
