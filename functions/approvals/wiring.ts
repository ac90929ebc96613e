import type { Env } from '../shared/config';
import { log } from '../shared/middleware';
import {
  makeGitHub,
  makeSecrets,
  makeStore,
  makeWorkflow,
  parseApprovers,
  systemClock,
} from '../shared/runtime';
import type { ApprovalsPorts } from './context';

/** Real ports for the approvals handler (Lambda's handler.ts and the embedded stack both use it). */
export function approvalsPorts(config: Env): ApprovalsPorts {
  const secrets = makeSecrets();
  return {
    store: makeStore(config),
    // A person is waiting on the page: never wait out a long rate limit here.
    github: makeGitHub(config, secrets, { maxRetryAfterSeconds: 3, retries: 1 }),
    workflow: makeWorkflow(config),
    secrets,
    clock: systemClock,
    log,
    settings: {
      approvalKeySecretId: config.APPROVAL_KEY_SECRET_ID,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      defaultApprovers: parseApprovers(config.DEFAULT_APPROVERS),
    },
  };
}
