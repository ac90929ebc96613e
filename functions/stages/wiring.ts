import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SesMailer } from '../shared/adapters/mailer';
import type { Env } from '../shared/config';
import { parseModelConfig } from '../shared/domain/models';
import { log } from '../shared/middleware';
import {
  awsClientConfig,
  cryptoIds,
  makeBlobs,
  makeGitHub,
  makeSecrets,
  makeStore,
  makeWorkflow,
  parseApprovers,
  systemClock,
} from '../shared/runtime';
import type { StagePorts, StageSettings } from './deps';
import { contractOf, repoOf } from '../shared/run-contract';

export function stageSettings(config: Env): StageSettings {
  return {
    publicBaseUrl: config.PUBLIC_BASE_URL,
    mailFrom: config.MAIL_FROM,
    botLogin: config.FACTORY_BOT_LOGIN,
    approvalKeySecretId: config.APPROVAL_KEY_SECRET_ID,
    defaultApprovers: parseApprovers(config.DEFAULT_APPROVERS),
    models: parseModelConfig(config.MODEL_CONFIG),
    maxActiveRunsPerRepo: config.MAX_ACTIVE_RUNS_PER_REPO,
    llmTurnSeconds: config.LLM_TURN_TIMEOUT_SECONDS,
    sandboxPricePerSecondUsd: config.SANDBOX_PRICE_PER_SECOND_USD,
    ...(config.MAX_WAIT_SECONDS ? { maxWaitSeconds: JSON.parse(config.MAX_WAIT_SECONDS) } : {}),
  };
}

/** Real ports for the stage runner (Lambda's handler.ts and the embedded stack both use it). */
export function stagePorts(config: Env): StagePorts {
  const secrets = makeSecrets();
  const clock = systemClock;
  return {
    store: makeStore(config, clock),
    github: makeGitHub(config, secrets),
    blobs: makeBlobs(config),
    workflow: makeWorkflow(config),
    mailer: new SesMailer(new SESv2Client(awsClientConfig)),
    secrets,
    ids: cryptoIds,
    clock,
    log,
    settings: stageSettings(config),
    now: () => new Date(clock.now()).toISOString(),
    repoOf,
    contractOf,
  };
}
