/**
 * Logging on pino: one JSON object per line (LOG_FORMAT=json, the default in
 * production), or pino-pretty's one readable line (LOG_FORMAT=pretty, the
 * default elsewhere), on stderr, written synchronously so that nothing is lost
 * when the process exits. Secrets are kept out twice: known fields of details
 * are redacted, and anything shaped like a JWT or a bearer credential is
 * replaced in every message and string detail.
 */
import { pino, type Logger as PinoLogger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';

/** Severity of a log line; `silent` turns logging off. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** How lines are written. */
export type LogFormat = 'json' | 'pretty';

const levels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** Structured logs; `detail` is an Error (logged as `err`, with its stack) or any JSON-able value. */
export interface Logger {
  debug(message: string, detail?: unknown): void;
  info(message: string, detail?: unknown): void;
  warn(message: string, detail?: unknown): void;
  error(message: string, detail?: unknown): void;
  /** A logger whose every line carries `bindings` (a request id, say). */
  child(bindings: Record<string, unknown>): Logger;
  /** Whether debug lines are written (to skip building them otherwise). */
  readonly debugEnabled: boolean;
}

/** Whether `value` names a log level. */
export function isLogLevel(value: string): value is LogLevel {
  return (levels as readonly string[]).includes(value);
}

/** Whether `value` names a log format. */
export function isLogFormat(value: string): value is LogFormat {
  return value === 'json' || value === 'pretty';
}

/** Fields that hold credentials wherever they appear in a detail. */
const SECRET_FIELDS = ['authorization', 'Authorization', 'token', 'password', 'passwordHash', 'jwtSecret', 'secret'];

/** JWTs (three base64url parts, the first two starting as JSON does) and `Bearer <anything>`. */
const SECRET_TEXT = /\beyJ[\w-]*\.eyJ[\w-]*\.[\w-]*|\bBearer\s+\S+/g;

/** `text` with anything shaped like a credential replaced. */
export function scrub(text: string): string {
  return text.replace(SECRET_TEXT, '[redacted]');
}

function scrubDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (depth > 4 || typeof value !== 'object' || value === null || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubDeep(v, depth + 1)]));
}

function scrubError(error: Error): Error {
  const copy = new Error(scrub(error.message));
  copy.name = error.name;
  copy.stack = error.stack === undefined ? undefined : scrub(error.stack);
  return copy;
}

function wrap(logger: PinoLogger): Logger {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, detail?: unknown): void => {
      if (!logger.isLevelEnabled(level)) return;
      if (detail === undefined) logger[level](scrub(message));
      else if (detail instanceof Error) logger[level]({ err: scrubError(detail) }, scrub(message));
      else logger[level]({ detail: scrubDeep(detail) }, scrub(message));
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (bindings) => wrap(logger.child(bindings)),
    get debugEnabled() {
      return logger.isLevelEnabled('debug');
    },
  };
}

/** Options of `createLogger`. */
export interface LogOptions {
  /** @default 'json' */
  format?: LogFormat;
  /** Where lines go (one string per line). @default stderr */
  write?: (line: string) => void;
}

/** A logger writing lines at `level` and above. */
export function createLogger(level: LogLevel, { format = 'json', write }: LogOptions = {}): Logger {
  const options: LoggerOptions = {
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: SECRET_FIELDS.flatMap((f) => [`detail.${f}`, `detail.*.${f}`, `detail.headers.${f}`]),
      censor: '[redacted]',
    },
  };
  const destination = write
    ? { write }
    : format === 'pretty'
      ? pretty({ sync: true, destination: 2, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
      : pino.destination({ dest: 2, sync: true });
  return wrap(pino(options, destination));
}
