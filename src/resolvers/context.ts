import { randomUUID } from 'node:crypto';
import type { Services } from '../app/services';
import type { Auth } from '../auth/session';
import type { ByteBudget } from '../lib/byteBudget';
import { createLoaders, type Loaders } from './loaders';

/** The per-operation context handed to every resolver. */
export interface Context {
  services: Services;
  auth: Auth;
  loaders: Loaders;
  /** The client's address, for per-client limits. */
  clientAddress: string;
  /** The client's User-Agent, which names a session it starts. */
  userAgent?: string;
  /** What a subscription's waiting events are charged to: its WebSocket connection's bound. */
  budget?: ByteBudget;
  /** Names this operation in logs and in its errors' `extensions.requestId`. */
  requestId: string;
  /**
   * Over HTTP: settles once the operation's response is over (taken whole by
   * the client, or its connection gone), when what it held is given back.
   */
  responseOver?: Promise<void>;
}

/** A context for one operation, with its own DataLoaders. */
export function createContext(
  services: Services,
  auth: Auth,
  clientAddress: string,
  {
    cacheLoaders = true,
    budget,
    requestId = randomUUID(),
    responseOver,
    userAgent,
  }: {
    cacheLoaders?: boolean;
    budget?: ByteBudget;
    requestId?: string;
    responseOver?: Promise<void>;
    userAgent?: string;
  } = {},
): Context {
  return {
    services,
    auth,
    clientAddress,
    budget,
    requestId,
    responseOver,
    userAgent,
    loaders: createLoaders(services.store, services.presence, { cache: cacheLoaders }),
  };
}
