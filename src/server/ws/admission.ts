import type { Config } from '../../config';
import type { Release, Slots } from '../../lib/slots';

/** WebSocket close code for a connection past a per-user or per-address cap; graphql-ws clients do not retry it. */
export const TOO_MANY_CONNECTIONS = 4429;

/**
 * The caps on what one user or one address may hold open at once, on every
 * process together: WebSocket connections per user and per client address,
 * subscriptions per user. A cap that a real multi-device user never meets,
 * and that keeps one client from holding the process's memory and making
 * every delivery slow.
 */
export function createAdmission(slots: Slots, config: Config) {
  return {
    /** A connection of `userId` from `address`: its release, or why it is refused. */
    async connection(userId: string, address: string): Promise<Release | { refused: string }> {
      const user = await slots.acquire(`connections:user:${userId}`, config.maxConnectionsPerUser);
      if (!user) {
        return {
          refused: `Too many connections: at most ${config.maxConnectionsPerUser} per user; close others first`,
        };
      }
      const fromAddress = await slots.acquire(`connections:address:${address}`, config.maxConnectionsPerAddress);
      if (!fromAddress) {
        user();
        return {
          refused: `Too many connections: at most ${config.maxConnectionsPerAddress} from one address; close others first`,
        };
      }
      return () => {
        user();
        fromAddress();
      };
    },
    /** A subscription of `userId`: its release, or null past the cap. */
    subscription(userId: string): Promise<Release | null> {
      return slots.acquire(`subscriptions:user:${userId}`, config.maxSubscriptionsPerUser);
    },
  };
}

/** The caps of `createAdmission`, built once per server and shared by connections and subscriptions. */
export type Admission = ReturnType<typeof createAdmission>;
