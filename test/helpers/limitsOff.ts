/**
 * The environment that takes the per-user and per-address limits out of the
 * way of tests that are not about them: every test server (in this process or
 * as its own) starts from it, and a test about a limit sets that one back.
 */
export const LIMITS_OFF: Readonly<Record<string, string>> = {
  AUTH_RATE_BURST: '100000',
  GROUP_RATE_BURST: '100000',
  GROUP_RATE_PER_SECOND: '100000',
  LOGIN_FAILURE_BURST: '100000',
  LOGIN_FAILURE_PER_SECOND: '100000',
  PASSWORD_HASH_QUEUE: '100000',
  PUSH_TOKEN_RATE_BURST: '100000',
  PUSH_TOKEN_RATE_PER_SECOND: '100000',
  MESSAGE_RATE_BURST: '100000',
  MESSAGE_RATE_PER_SECOND: '100000',
  REPORT_RATE_BURST: '100000',
  REPORT_RATE_PER_SECOND: '100000',
  MAX_CONNECTIONS_PER_ADDRESS: '1000000',
  UPLOAD_RATE_BURST: '100000',
  UPLOAD_RATE_PER_SECOND: '100000',
  UPLOAD_BYTES_PER_DAY: '1000000000000',
  EXPORT_RATE_BURST: '100000',
  EXPORT_RATE_PER_SECOND: '100000',
};
