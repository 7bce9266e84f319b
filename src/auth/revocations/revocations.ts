/**
 * Revoked tokens (logOut), refused until they would have expired anyway. One
 * implementation per backend: memory.ts (this process), redis.ts (every
 * process sharing the Redis).
 */
export interface Revocations {
  /** Refuses the token from now on, until `expiresAt`. */
  revoke(tokenId: string, expiresAt: Date): Promise<void>;
  /** Whether the token was revoked. */
  isRevoked(tokenId: string): Promise<boolean>;
}
