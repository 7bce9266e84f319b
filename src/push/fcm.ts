import { cert, initializeApp, type ServiceAccount } from 'firebase-admin/app';
import { getMessaging, type Messaging } from 'firebase-admin/messaging';
import type { Config } from '../config';
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

/** FCM through firebase-admin when credentials are configured; else push is off, said once. */
export function createPushSender(credentials: Config['pushCredentials'], log: Logger): PushSender | null {
  if (!credentials) {
    log.info('push: off (set GOOGLE_APPLICATION_CREDENTIALS or FIREBASE_SERVICE_ACCOUNT to send notifications)');
    return null;
  }
  const app = initializeApp({
    credential: 'file' in credentials ? cert(credentials.file) : cert(credentials.serviceAccount as ServiceAccount),
  });
  log.info('push: on (Firebase Cloud Messaging)');
  return createFcmSender(getMessaging(app));
}
