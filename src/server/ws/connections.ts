import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { CloseCode, type Context as WsContext } from 'graphql-ws';
import type { WebSocket } from 'ws';
import { authenticateConnection } from '../../auth/session';
import type { TokenClaims } from '../../auth/tokens';
import { createByteBudget, type ByteBudget } from '../../lib/byteBudget';
import type { Release } from '../../lib/slots';
import type { Services } from '../../app/services';
import { TOO_MANY_CONNECTIONS, type Admission } from './admission';
import { createSessionWatch } from './sessionWatch';

/**
 * What graphql-ws's ws adapter hands every hook besides the context. The
 * upgrade request is let go once the connection is admitted (its address is
 * kept in the Viewer), for every idle connection would hold it.
 */
export type Extra = { socket: WebSocket; request: IncomingMessage | undefined };
/** A graphql-ws connection's context as the hooks see it. */
export type ConnectionContext = WsContext<Record<string, unknown>, Extra>;

/** An authenticated connection. */
export interface Viewer {
  claims: TokenClaims;
  /** The connection's bound on bytes waiting to be sent. */
  budget: ByteBudget;
  /** The client's address, for per-client limits. */
  address: string;
  /** Names the connection in logs and, with a subscription's id, in request ids. */
  connectionId: string;
  since: number;
  /** Gives back the connection's places under the per-user and per-address caps. */
  release: Release;
}

/** WebSocket close code 1013: try again later. */
const TRY_AGAIN_LATER = 1013;
/** How long a connection closed for not reading gets to read its close frame before it is cut off. */
const CLOSE_GRACE_MS = 1000;

/** Options of `createConnections`. */
export interface ConnectionsOptions {
  services: Services;
  /** Counts open, authenticated connections. */
  connections: { open: number };
  /** The client's address (TRUST_PROXY decides whether X-Forwarded-For is read), for per-client limits. */
  clientAddress: (request: IncomingMessage) => string;
  /** The per-user and per-address caps. */
  admission: Admission;
}

/**
 * The life of a graphql-ws connection: authenticated once in onConnect (4401,
 * or 4403 for an expired token, before any subscription starts), admitted under the per-user and
 * per-address caps (4429), watched for its token's expiry and revocation, given
 * a bound on unsent bytes (1013), and counted for presence and metrics until it
 * closes.
 */
export function createConnections({ services, connections, clientAddress, admission }: ConnectionsOptions) {
  const { log, metrics } = services;
  const viewers = new WeakMap<ConnectionContext, Viewer>();
  const sessions = createSessionWatch(services);

  /**
   * A connection's bound on bytes waiting to be sent: its subscriptions' queued
   * events and the socket's unsent buffer. Past it the connection is closed
   * with 1013 (try again later), later events for it are dropped, and it is cut
   * off shortly after, for a client that reads nothing does not read the close
   * frame either. Closing frees its subscriptions; the client resumes with `after`.
   */
  const connectionBudget = (socket: WebSocket) =>
    createByteBudget({
      maxBytes: services.config.wsMaxBufferedBytes,
      external: () => socket.bufferedAmount,
      onExceeded: (held) => {
        log.debug(`closing a connection that is not reading: ${held} bytes waiting`);
        socket.close(TRY_AGAIN_LATER, 'Not reading what it is sent: reconnect and resume with after');
        setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
      },
    });

  return {
    /** The connection's viewer, once it was admitted; undefined before and after. */
    viewerOf: (ctx: ConnectionContext) => viewers.get(ctx),

    /** onConnect: whether the connection may stay (else it was closed with the reason). */
    async open(ctx: ConnectionContext): Promise<boolean> {
      const authorization = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
      const auth = await authenticateConnection(services.tokens, services.revocations, services.store, authorization);
      const { socket, request } = ctx.extra;
      if ('failure' in auth) {
        // An expired token: 4403, which graphql-ws clients retry (asking connectionParams for a renewed token).
        if (auth.expired) socket.close(CloseCode.Forbidden, 'Forbidden: token expired');
        else socket.close(CloseCode.Unauthorized, `Unauthorized: ${auth.failure}`);
        return false;
      }
      const address = clientAddress(request!);
      const admitted = await admission.connection(auth.claims.userId, address);
      if ('refused' in admitted) {
        metrics.rateLimited.inc({ limit: 'connections' });
        socket.close(TOO_MANY_CONNECTIONS, admitted.refused);
        return false;
      }
      // Gone while it was being admitted: onClose has run already, and would not give its place back.
      if (socket.readyState !== socket.OPEN) {
        admitted();
        return false;
      }
      const connectionId = randomUUID();
      viewers.set(ctx, {
        claims: auth.claims,
        budget: connectionBudget(socket),
        address,
        connectionId,
        since: Date.now(),
        release: admitted,
      });
      // Neither the upgrade request nor the token is read again (the claims are kept): every idle connection held both.
      ctx.extra.request = undefined;
      (ctx as { connectionParams?: unknown }).connectionParams = undefined;
      if (log.debugEnabled) log.debug('ws connected', { connectionId, userId: auth.claims.userId, address });
      sessions.opened(socket, auth.claims);
      connections.open++;
      metrics.connections.inc();
      await services.presence.connected(auth.claims.userId);
      return true;
    },

    /** onClose of an admitted connection: gives back what it held. `viewer` is what `viewerOf` said. */
    closed(ctx: ConnectionContext, viewer: Viewer, code: number | undefined): void {
      viewers.delete(ctx);
      viewer.release();
      if (log.debugEnabled) {
        const { connectionId, claims, since } = viewer;
        log.debug('ws closed', { connectionId, userId: claims.userId, code, seconds: (Date.now() - since) / 1000 });
      }
      sessions.closed(ctx.extra.socket, viewer.claims);
      connections.open--;
      metrics.connections.dec();
      void services.presence.disconnected(viewer.claims.userId);
    },

    /** Stops watching tokens. */
    stop: () => sessions.stop(),
  };
}
