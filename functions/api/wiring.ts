import type { Env } from '../shared/config';
import { log } from '../shared/middleware';
import { cryptoIds, makeGitHub, makeSecrets, makeStore, makeWorkflow, systemClock } from '../shared/runtime';
import type { ApiPorts } from './context';

/** Real ports for the REST API (Lambda's handler.ts and the embedded stack both use it). */
export function apiPorts(config: Env): ApiPorts {
  const secrets = makeSecrets();
  return {
    store: makeStore(config),
    workflow: makeWorkflow(config),
    // Only cancel talks to GitHub (closing the PR): never wait out a long rate limit in a request.
    github: makeGitHub(config, secrets, { maxRetryAfterSeconds: 3, retries: 1 }),
    secrets,
    clock: systemClock,
    ids: cryptoIds,
    log,
    config: { pageKeySecretId: config.APPROVAL_KEY_SECRET_ID },
  };
}
