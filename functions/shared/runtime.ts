import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { ulid } from 'ulid';
import { S3Blobs } from './adapters/blobs';
import { OctokitGitHub, type OctokitGitHubOptions, parseGitHubCredentials } from './adapters/github';
import { SecretsManagerSecrets } from './adapters/secrets';
import { SfnWorkflow } from './adapters/workflow';
import type { Env } from './config';
import { log } from './middleware';
import type { Blobs, Clock, GitHub, Ids, RequestPorts, Secrets, Store, Workflow } from './ports';
import { createDocumentClient, createDynamoStore } from './store/dynamo-store';

/**
 * Port factories shared by the functions' `wiring.ts` modules. Each builds real AWS SDK / Octokit
 * clients; endpoints come from the SDK's standard AWS_ENDPOINT_URL_<SERVICE> variables and from
 * GITHUB_API_URL, so the same code reaches AWS or the embedded stack. Kept per port (not one
 * `buildPorts`) so a function's bundle holds only the clients it uses.
 */

/**
 * Every AWS SDK client gives up on a connection or a silent request instead of waiting for the
 * Lambda timeout (its own retries then apply); the calls here answer in milliseconds when healthy.
 */
export const awsClientConfig = {
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 15_000 },
} as const;

export const systemClock: Clock = { now: () => Date.now() };

export const cryptoIds: Ids = {
  ulid: () => ulid(),
  secret: (bytes = 32) => randomBytes(bytes).toString('base64url'),
};

export function makeStore(config: Pick<Env, 'TABLE_NAME'>, clock: Clock = systemClock): Store {
  return createDynamoStore({
    doc: createDocumentClient(new DynamoDBClient(awsClientConfig)),
    tableName: config.TABLE_NAME,
    clock,
  });
}

export function makeWorkflow(config: Pick<Env, 'STATE_MACHINE_ARN'>): Workflow {
  return new SfnWorkflow(new SFNClient(awsClientConfig), config.STATE_MACHINE_ARN);
}

/**
 * Path-style addressing: it works on every S3 endpoint, AWS's included, while virtual-hosted names
 * cannot resolve on an IP endpoint such as the embedded stack's.
 */
export function makeBlobs(config: Pick<Env, 'WORKSPACE_BUCKET'>): Blobs {
  return new S3Blobs(new S3Client({ ...awsClientConfig, forcePathStyle: true }), config.WORKSPACE_BUCKET);
}

export function makeSecrets(): Secrets {
  return new SecretsManagerSecrets(new SecretsManagerClient(awsClientConfig));
}

export function makeGitHub(
  config: Pick<Env, 'GITHUB_API_URL' | 'GITHUB_SECRET_ID' | 'GITHUB_WRITE_INTERVAL_MS'>,
  secrets: Secrets,
  overrides: Partial<OctokitGitHubOptions> = {},
): GitHub {
  const interval = config.GITHUB_WRITE_INTERVAL_MS;
  return new OctokitGitHub({
    baseUrl: config.GITHUB_API_URL,
    credentials: async () => parseGitHubCredentials(await secrets.get(config.GITHUB_SECRET_ID)),
    log,
    ...(interval === undefined
      ? {}
      : { pacing: { writeIntervalMs: interval, notificationIntervalMs: interval } }),
    ...overrides,
  });
}

/**
 * The ports of a function that answers an HTTP request (webhook, REST API): GitHub is asked with
 * one short retry at most, since a request must never wait out a long rate limit.
 */
export function requestPathPorts(config: Env): RequestPorts {
  const secrets = makeSecrets();
  return {
    store: makeStore(config),
    workflow: makeWorkflow(config),
    github: makeGitHub(config, secrets, { maxRetryAfterSeconds: 3, retries: 1 }),
    secrets,
    clock: systemClock,
    ids: cryptoIds,
    log,
  };
}

/** `alice:alice@example.com,bob:bob@example.com` → approvers. */
export function parseApprovers(value: string): Array<{ login: string; email: string }> {
  return value
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const [login = '', email = ''] = pair.split(':');
      return { login: login.trim(), email: email.trim() };
    })
    .filter((a) => a.login && a.email.includes('@'));
}
