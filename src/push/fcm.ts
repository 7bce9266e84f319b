/**
 * The FCM sender. firebase-admin is an optional dependency, loaded only when
 * push credentials are configured: an install without it (npm install
 * --omit=optional) serves everything but push.
 */
import type { ServiceAccount } from 'firebase-admin/app';
import type { Messaging } from 'firebase-admin/messaging';
import { ConfigError, type Config } from '../config';
import type { Logger } from '../lib/log';
import type { PushOutcome, PushSender } from './notifier';

/** FCM's codes for a token that will never work again. */
const UNREGISTERED = new Set(['messaging/registration-token-not-registered', 'messaging/invalid-registration-token']);

/** Sends through firebase-admin's messaging. */
export function createFcmSender(messaging: Messaging): PushSender {
  return {
    async sendMulticast({ tokens, title, body, data }) {
      const response = await messaging.sendEachForMulticast({
        tokens,
        notification: { title, body },
        data,
        android: { priority: 'high' },
        apns: { payload: { aps: { sound: 'default' } } },
      });
      return response.responses.map((r, i): PushOutcome => {
        const token = tokens[i]!;
        if (r.success) return { token, ok: true };
        const code = r.error?.code ?? 'unknown';
        return { token, ok: false, unregistered: UNREGISTERED.has(code), error: code };
      });
    },
  };
}

function isMissing(error: unknown, name: string): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    message.includes(`'${name}`)
  );
}

/**
 * FCM through firebase-admin when credentials are configured, else push is
 * off, said once. Fails with a ConfigError when credentials are set but
 * firebase-admin is not installed.
 */
export async function createPushSender(
  credentials: Config['pushCredentials'],
  log: Logger,
): Promise<PushSender | null> {
  if (!credentials) {
    log.info('push: off (set GOOGLE_APPLICATION_CREDENTIALS or FIREBASE_SERVICE_ACCOUNT to send notifications)');
    return null;
  }
  const [{ cert, initializeApp }, { getMessaging }] = await Promise.all([
    import('firebase-admin/app'),
    import('firebase-admin/messaging'),
  ]).catch((error: unknown) => {
    if (isMissing(error, 'firebase-admin')) {
      throw new ConfigError('push: firebase-admin is not installed: npm install firebase-admin');
    }
    throw error;
  });
  const app = initializeApp({
    credential: 'file' in credentials ? cert(credentials.file) : cert(credentials.serviceAccount as ServiceAccount),
  });
  log.info('push: on (Firebase Cloud Messaging)');
  return createFcmSender(getMessaging(app));
}
