/**
 * HMAC-SHA256 signatures over a list of fields, for URLs that grant one request until an expiry.
 * Hand-written rather than a JWT in the query: the URL must bind the request's method, path and
 * size exactly, and a JWT library would add a header, a choice of algorithms and base64 JSON for
 * what is one HMAC over a few strings.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The signature of `fields` under `secret`, as base64url; fields are length-prefixed, so none can spill into the next. */
export function signFields(secret: string | Buffer, fields: readonly string[]): string {
  const hmac = createHmac('sha256', secret);
  for (const field of fields) hmac.update(`${Buffer.byteLength(field)}:${field}\n`);
  return hmac.digest('base64url');
}

/** Whether `signature` is the signature of `fields` under `secret` (compared in constant time). */
export function isSignatureOf(secret: string | Buffer, fields: readonly string[], signature: string): boolean {
  const expected = Buffer.from(signFields(secret, fields));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
