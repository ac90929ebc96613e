import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { ulid } from 'ulid';
import { OctokitGitHub, parseGitHubCredentials } from '../shared/adapters/github';
import { SecretsManagerSecrets } from '../shared/adapters/secrets';
import { SfnWorkflow } from '../shared/adapters/workflow';
import { env } from '../shared/config';
import { log } from '../shared/middleware';
import { createDocumentClient, DynamoStore } from '../shared/store/dynamo-store';
import { createWebhookHandler } from './app';

// Module scope: clients are built once per container. Endpoints come from the SDK's standard
// AWS_ENDPOINT_URL_<SERVICE> variables (the embedded stack sets them), Octokit's from GITHUB_API_URL.
const config = env();
const clock = { now: () => Date.now() };
const secrets = new SecretsManagerSecrets(new SecretsManagerClient({}));

export const handler = createWebhookHandler({
  store: new DynamoStore({
    doc: createDocumentClient(new DynamoDBClient({})),
    tableName: config.TABLE_NAME,
    clock,
  }),
  workflow: new SfnWorkflow(new SFNClient({}), config.STATE_MACHINE_ARN),
  github: new OctokitGitHub({
    baseUrl: config.GITHUB_API_URL,
    credentials: async () => parseGitHubCredentials(await secrets.get(config.GITHUB_SECRET_ID)),
    log,
    // The ack path must answer GitHub within 10 s: never wait out a long rate limit here.
    maxRetryAfterSeconds: 3,
    retries: 1,
  }),
  secrets,
  clock,
  ids: { ulid: () => ulid(), secret: (bytes = 32) => randomBytes(bytes).toString('base64url') },
  log,
  config: { webhookSecretId: config.WEBHOOK_SECRET_ID, factoryLogin: config.FACTORY_BOT_LOGIN },
});
