/** Reading environment variables: each helper returns the value or throws ConfigError naming the variable. */
import type { Config } from './config';

/** A setting that cannot be used; the message names the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export function positive(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be a positive number, got "${raw}"`);
  return value;
}

export function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (/^(true|1|yes|on)$/i.test(raw)) return true;
  if (/^(false|0|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

export function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function pushCredentials(env: Env): Config['pushCredentials'] {
  const json = optional(env, 'FIREBASE_SERVICE_ACCOUNT');
  if (json !== undefined) {
    try {
      const parsed: unknown = JSON.parse(json);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        return { serviceAccount: parsed as Record<string, unknown> };
    } catch {
      // reported below
    }
    throw new ConfigError('FIREBASE_SERVICE_ACCOUNT must be a service-account JSON object');
  }
  const file = optional(env, 'GOOGLE_APPLICATION_CREDENTIALS');
  return file === undefined ? null : { file };
}

/** REDIS_CLUSTER_NODES as host/port pairs; a ConfigError naming the first that is not one. */
export function clusterNodes(env: Env): Config['redisClusterNodes'] {
  const raw = optional(env, 'REDIS_CLUSTER_NODES');
  if (raw === undefined) return undefined;
  if (optional(env, 'REDIS_URL') !== undefined) {
    throw new ConfigError(
      'REDIS_CLUSTER_NODES and REDIS_URL are both set: set REDIS_URL for one Redis, or the other for a Redis Cluster',
    );
  }
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((node) => {
      const match = /^([^\s:/]+|\[[0-9a-f:]+\]):(\d{1,5})$/i.exec(node);
      const port = Number(match?.[2]);
      if (!match || port < 1 || port > 65535) {
        throw new ConfigError(`REDIS_CLUSTER_NODES must be host:port pairs separated by commas, got "${node}"`);
      }
      return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
    });
}

/** A connection string of one of `schemes`, checked before anything connects. */
export function connectionUrl(env: Env, name: string, schemes: string[], example: string): string | undefined {
  const raw = optional(env, name);
  if (raw === undefined) return undefined;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/[^/\s]/i.exec(raw)?.[1]?.toLowerCase();
  if (!scheme || !schemes.includes(scheme)) {
    throw new ConfigError(`${name} must be a ${schemes.map((s) => `${s}://`).join(' or ')} URL such as ${example}`);
  }
  return raw;
}

/** The S3_* variables: null when none of the four required ones is set, else all four. */
export function s3Settings(env: Env): Config['s3'] {
  const required = ['S3_BUCKET', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const;
  const values = required.map((name) => optional(env, name));
  const others = ['S3_ENDPOINT', 'S3_FORCE_PATH_STYLE'].filter((name) => optional(env, name) !== undefined);
  if (values.every((v) => v === undefined)) {
    if (others.length > 0) throw new ConfigError(`S3_BUCKET is needed: ${others[0]} is set (media in S3)`);
    return null;
  }
  const missing = required.filter((_, i) => values[i] === undefined);
  if (missing.length > 0) {
    const set = required.filter((_, i) => values[i] !== undefined);
    throw new ConfigError(`${missing[0]} is not set: media in S3 need ${required.join(', ')} (${set.join(', ')} set)`);
  }
  const [bucket, region, accessKeyId, secretAccessKey] = values as string[];
  return {
    bucket: bucket!,
    region: region!,
    accessKeyId: accessKeyId!,
    secretAccessKey: secretAccessKey!,
    endpoint: connectionUrl(env, 'S3_ENDPOINT', ['http', 'https'], 'https://s3.eu-west-1.amazonaws.com'),
    forcePathStyle: flag(env, 'S3_FORCE_PATH_STYLE', false),
  };
}

export function trustProxy(env: Env): Config['trustProxy'] {
  const raw = optional(env, 'TRUST_PROXY');
  if (raw === undefined || raw === 'false') return undefined;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  if (!/^[\w.:/,\s]+$/.test(raw)) {
    throw new ConfigError(`TRUST_PROXY must be true, a number of hops, or addresses/subnets, got "${raw}"`);
  }
  return raw;
}
