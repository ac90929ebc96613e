import type { Env } from '../shared/config';
import { requestPathPorts } from '../shared/runtime';
import type { WebhookPorts } from './context';

/** Real ports for the webhook handler (Lambda's handler.ts and the embedded stack both use it). */
export function webhookPorts(config: Env): WebhookPorts {
  // The ack path must answer GitHub within 10 s: the request path's short GitHub retries.
  return {
    ...requestPathPorts(config),
    config: { webhookSecretId: config.WEBHOOK_SECRET_ID, factoryLogin: config.FACTORY_BOT_LOGIN },
  };
}
