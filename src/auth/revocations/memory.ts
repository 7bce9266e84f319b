import type { Revocations } from './revocations';

/** Revocations in this process's memory, forgotten once the tokens would have expired. */
export function createMemoryRevocations(now: () => number = Date.now): Revocations {
  const revoked = new Map<string, number>();
  return {
    async revoke(tokenId, expiresAt) {
      const t = now();
      for (const [id, until] of revoked) if (until <= t) revoked.delete(id);
      if (expiresAt.getTime() > t) revoked.set(tokenId, expiresAt.getTime());
    },
    async isRevoked(tokenId) {
      const until = revoked.get(tokenId);
      return until !== undefined && until > now();
    },
  };
}
