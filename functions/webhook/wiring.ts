import type { Env } from '../shared/config';
import { log } from '../shared/middleware';
import { cryptoIds, makeGitHub, makeSecrets, makeStore, makeWorkflow, systemClock } from '../shared/runtime';
import type { WebhookPorts } from './app';

/** Real ports for the webhook handler (Lambda's handler.ts and the embedded stack both use it). */
export function webhookPorts(config: Env): WebhookPorts {
  const secrets = makeSecrets();
  return {
    store: makeStore(config),
    workflow: makeWorkflow(config),
    // The ack path must answer GitHub within 10 s: never wait out a long rate limit here.
    github: makeGitHub(config, secrets, { maxRetryAfterSeconds: 3, retries: 1 }),
    secrets,
    clock: systemClock,
    ids: cryptoIds,
    log,
    config: { webhookSecretId: config.WEBHOOK_SECRET_ID, factoryLogin: config.FACTORY_BOT_LOGIN },
  };
}
