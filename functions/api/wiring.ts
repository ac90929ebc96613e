import { SFNClient } from '@aws-sdk/client-sfn';
import { SfnWorkflow } from '../shared/adapters/workflow';
import type { Env } from '../shared/config';
import { awsClientConfig, requestPathPorts } from '../shared/runtime';
import type { ApiPorts } from './context';

/** Real ports for the REST API (Lambda's handler.ts and the embedded stack both use it). */
export function apiPorts(config: Env): ApiPorts {
  // Only cancel talks to GitHub (closing the PR), with the request path's short retries.
  return {
    ...requestPathPorts(config),
    config: { pageKeySecretId: config.APPROVAL_KEY_SECRET_ID },
    ...(config.ASK_STATE_MACHINE_ARN
      ? { asks: new SfnWorkflow(new SFNClient(awsClientConfig), config.ASK_STATE_MACHINE_ARN) }
      : {}),
  };
}
