import type { WebSocket } from 'ws';
import type { TokenClaims } from '../../auth/tokens';
import { MISSED_EVENTS, type Subscription } from '../../pubsub/pubsub';
import type { TokenRevokedEvent } from '../../pubsub/topics';
import type { Services } from '../../app/services';

/** WebSocket close code for an expired or revoked token, as at connect time. */
const UNAUTHORIZED = 4401;
/** setTimeout's longest delay; a later expiry is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Every open connection's token: each is closed with 4401 when its token
 * expires, or when it is revoked by logOut on any process (one broadcast
 * channel, `tokenRevoked:all`, that every process follows). When that channel
 * may have missed events, every open connection's token is checked again.
 */
export function createSessionWatch(services: Services) {
  const byToken = new Map<string, Set<WebSocket>>();
  const expiries = new Map<WebSocket, NodeJS.Timeout>();
  let stopped = false;
  let subscription: Subscription<TokenRevokedEvent> | null = null;

  const closeAll = (tokenId: string, why: string) => {
    for (const socket of byToken.get(tokenId) ?? []) socket.close(UNAUTHORIZED, `Unauthorized: ${why}`);
  };
  const armExpiry = (socket: WebSocket, claims: TokenClaims) => {
    const left = claims.expiresAt.getTime() - Date.now();
    const timer = setTimeout(
      () =>
        left > MAX_TIMER_MS ? armExpiry(socket, claims) : socket.close(UNAUTHORIZED, 'Unauthorized: token expired'),
      Math.max(0, Math.min(left, MAX_TIMER_MS)),
    );
    timer.unref();
    expiries.set(socket, timer);
  };
  const recheckAll = async () => {
    for (const tokenId of [...byToken.keys()]) {
      if (await services.revocations.isRevoked(tokenId)) closeAll(tokenId, 'token revoked');
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
          else closeAll(event.tokenId, 'token revoked');
        }
      } catch (error) {
        services.log.warn(`logOut channel: ${(error as Error).message}; following it again`);
      }
    }
  }
  const following = follow().catch((error) => services.log.error('logOut channel failed', error));

  return {
    opened(socket: WebSocket, claims: TokenClaims) {
      let sockets = byToken.get(claims.tokenId);
      if (!sockets) byToken.set(claims.tokenId, (sockets = new Set()));
      sockets.add(socket);
      armExpiry(socket, claims);
    },
    closed(socket: WebSocket, claims: TokenClaims) {
      clearTimeout(expiries.get(socket));
      expiries.delete(socket);
      const sockets = byToken.get(claims.tokenId);
      sockets?.delete(socket);
      if (sockets?.size === 0) byToken.delete(claims.tokenId);
    },
    async stop() {
      stopped = true;
      await subscription?.return();
      await following;
    },
  };
}
