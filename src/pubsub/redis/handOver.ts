import type { Cluster } from 'ioredis';
import type { RedisClient } from '../../lib/redis';
import { spublishPerMaster } from './shards';

/**
 * One event on many channels in one command: a message to a group of 100 is
 * one script call, not 100 PUBLISH commands, each of which costs the client
 * as much as the Redis server. ARGV[1] is the event, the rest its channels.
 */
const PUBLISH_MANY = 'chatPublishMany';
const PUBLISH_MANY_LUA = `
for i = 2, #ARGV do redis.call('PUBLISH', ARGV[i], ARGV[1]) end
return #ARGV - 1`;
/** Channels per PUBLISH_MANY call: one command's arguments stay small. */
const PUBLISH_MANY_CHUNK = 1000;
type PublishMany = Record<typeof PUBLISH_MANY, (event: string, ...channels: string[]) => Promise<number>>;

/** The channels a publish did not reach, and why. */
export class PublishError extends Error {
  constructor(
    readonly channels: readonly string[],
    cause: unknown,
  ) {
    super(
      `publish failed on ${channels.length} channel(s): ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
    this.name = 'PublishError';
  }
}

/**
 * The hand-over of one serialised event to Redis on many channels: one script
 * call per 1,000 channels on one Redis; on a cluster (shard channels), one
 * SPUBLISH per channel, pipelined per master, since a script may only touch
 * one slot. Resolves with the channels it may not have reached, and why.
 */
export function createHandOver(publisher: RedisClient, sharded: boolean) {
  if (!sharded) publisher.defineCommand(PUBLISH_MANY, { numberOfKeys: 0, lua: PUBLISH_MANY_LUA });
  return async function handOver(channels: readonly string[], text: string): Promise<PublishError | null> {
    if (sharded) {
      const { failed, error } = await spublishPerMaster(publisher as Cluster, channels, text);
      return failed.length > 0 ? new PublishError(failed, error) : null;
    }
    for (let i = 0; i < channels.length; i += PUBLISH_MANY_CHUNK) {
      const chunk = channels.slice(i, i + PUBLISH_MANY_CHUNK);
      try {
        await (publisher as unknown as PublishMany)[PUBLISH_MANY](text, ...chunk);
      } catch (error) {
        return new PublishError(channels.slice(i), error);
      }
    }
    return null;
  };
}
