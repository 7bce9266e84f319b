import type { RedisClient } from '../../lib/redis';
import type { Logger } from '../../lib/log';
import { UnavailableError } from '../../lib/unavailable';
import { createMemoryRevocations } from './memory';
import type { Revocations } from './revocations';

/**
 * Revocations shared through Redis: one key per revoked token, expiring when
 * the token would have. While Redis cannot be asked, this process still
 * refuses what it revoked itself (a copy in memory) and otherwise lets tokens
 * through rather than refusing every request; a revocation it could not store
 * fails, so that logOut never claims what did not happen.
 */
export function createRedisRevocations(
  redis: RedisClient,
  { keyPrefix = 'chat:revoked:', log }: { keyPrefix?: string; log?: Logger } = {},
): Revocations {
  const local = createMemoryRevocations();
  return {
    async revoke(tokenId, expiresAt) {
      const ms = expiresAt.getTime() - Date.now();
      try {
        if (ms > 0) await redis.set(`${keyPrefix}${tokenId}`, '1', 'PX', ms);
      } catch (error) {
        throw new UnavailableError('revocations', error);
      }
      await local.revoke(tokenId, expiresAt);
    },
    async isRevoked(tokenId) {
      if (await local.isRevoked(tokenId)) return true;
      try {
        return (await redis.exists(`${keyPrefix}${tokenId}`)) === 1;
      } catch (error) {
        log?.warn(`revocations: ${(error as Error).message}; accepting the token`);
        return false;
      }
    },
  };
}
