import './quiet';
import './polyfills';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { createApiHandler } from '../functions/api/app';
import { createApiKey } from '../functions/api/auth';
import { apiPorts } from '../functions/api/wiring';
import { createApprovalsHandler } from '../functions/approvals/app';
import { approvalsPorts } from '../functions/approvals/wiring';
import { createCopilotHandler } from '../functions/copilot/app';
import { copilotPorts } from '../functions/copilot/wiring';
import { createLlmDlqHandler } from '../functions/llm-dlq/app';
import { llmDlqPorts } from '../functions/llm-dlq/wiring';
import { createLlmWorkerHandler } from '../functions/llm-worker/app';
import { llmWorkerPorts } from '../functions/llm-worker/wiring';
import { env } from '../functions/shared/config';
import { isTerminal } from '../functions/shared/domain/run';
import type { Provider } from '../functions/shared/domain/providers';
import type { Store } from '../functions/shared/ports';
import { makeStore } from '../functions/shared/runtime';
import { createSandboxHandler } from '../functions/sandbox/app';
import { createStageHandler } from '../functions/stages/app';
import { stagePorts } from '../functions/stages/wiring';
import { createWebhookHandler } from '../functions/webhook/app';
import { webhookPorts } from '../functions/webhook/wiring';
import { startConsole } from './console/server';
import { ensureTable, FAKE_CREDENTIALS, LOCAL_REGION, startDynamo } from './emulators/dynamodb';
import { type EventSourceMapping, startEventSource } from './emulators/event-source';
import { startSecrets } from './emulators/secrets';
import { startS3 } from './emulators/s3';
import { startSes } from './emulators/ses';
import { createQueues, startSqs } from './emulators/sqs';
import { type ExecutionRecord, startStepFunctions, substitute } from './emulators/stepfunctions/server';
import { type Forge, SAMPLE_FULL_NAME, SAMPLE_USER_EMAILS, startForge } from './forge';
import { type GatewayRoute, type LambdaHttpHandler, startGateway } from './gateway';
import { localReposHandler } from './import-repo';
import { localInfoHandler } from './info';
import { type ModelServer, parseFaultList, type Script, startModel } from './model/server';
import { LocalSandbox } from './sandbox/runner';
import { SecretsManagerSecrets } from '../functions/shared/adapters/secrets';
import {
  type SandboxRegistry,
  SandboxRegistries,
  setupCredentialsOf,
} from '../functions/shared/domain/registries';
import { LLM_DEFAULTS, llmQueueSettings } from '../lib/llm-queue-settings';

/**
 * The embedded stack: every AWS service, GitHub and Anthropic emulated on 127.0.0.1, and the
 * factory's own handlers built by the same `app.ts` + `wiring.ts` the Lambdas use. The SDK
 * clients find the emulators through the standard AWS_ENDPOINT_URL_<SERVICE> variables.
 */

export const TABLE_NAME = 'code-factory';
export const STATE_MACHINE_NAME = 'code-factory-pipeline';
export const ASK_STATE_MACHINE_NAME = 'code-factory-ask';
export const WORKSPACE_BUCKET = 'code-factory-workspaces';
export const STAGE_RUNNER_ARN = `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:code-factory-stages`;
export const SANDBOX_ARN = `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:code-factory-sandbox`;
export const SANDBOX_ONLINE_ARN = `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:code-factory-sandbox-online`;
export const SANDBOX_SETUP_ARN = `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:code-factory-sandbox-setup`;
export const COPILOT_ARN = `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:code-factory-copilot`;
const PIPELINE_ASL = fileURLToPath(new URL('../statemachines/pipeline.asl.json', import.meta.url));
const ASK_ASL = fileURLToPath(new URL('../statemachines/ask.asl.json', import.meta.url));
const SECRET_IDS = {
  webhook: 'code-factory/webhook-secret',
  github: 'code-factory/github',
  anthropic: 'code-factory/anthropic-api-key',
  openai: 'code-factory/openai-api-key',
  approvalKey: 'code-factory/approval-signing-key',
} as const;

export interface StackOptions {
  /** Persistent data (runs, repos, secrets, executions). Absent: a temp dir removed on stop. */
  dataDir?: string;
  /** Port of the HTTP gateway (webhooks, REST API, approvals); 0 = OS-chosen. */
  port?: number;
  webhookSecret?: string;
  /** Use the real Anthropic API with this key instead of the local stand-in. */
  anthropicApiKey?: string;
  /** With `anthropicApiKey`: where the Anthropic API is (a gateway, a proxy, a test's server). */
  anthropicBaseUrl?: string;
  /**
   * The provider every model call goes to (default anthropic). bedrock: the stand-in answers
   * Bedrock's InvokeModel, SigV4-signed; openai-compatible: `openaiBaseUrl` if given (a real
   * endpoint), else the stand-in's `/v1/chat/completions`.
   */
  provider?: Provider;
  /** The provider's model id (`--model`); a default per provider otherwise. */
  modelName?: string;
  /** With provider openai-compatible: a real endpoint (with its `/v1`) and its key. */
  openaiBaseUrl?: string;
  openaiApiKey?: string;
  /**
   * MODEL_CONFIG as is (JSON), instead of the one `provider` implies (tests of mixed lists); a
   * function is given the stand-in's URL.
   */
  modelConfig?: string | ((modelUrl: string) => string);
  modelScript?: Script;
  /** Faults injected into the first model calls: `429,529,500,reset`. */
  llmFaults?: string;
  /** Caps on the human and CI waits, in seconds (tests make them short). */
  maxWaitSeconds?: {
    clarifySeconds?: number;
    checksSeconds?: number;
    /** How long a checks wait sits before it re-reads CI (a lost webhook; default 300). */
    checksRecheckSeconds?: number;
    approvalSeconds?: number;
  };
  llmTurnTimeoutSeconds?: number;
  /**
   * The LLM queue's redrive. Default: the deployment's (lib/llm-queue-settings.ts from the default
   * `llm` settings); tests make it short to reach the DLQ quickly.
   */
  llmQueue?: { maxReceiveCount?: number; visibilityTimeoutSeconds?: number };
  ciTimeoutMs?: number;
  /**
   * Run the agent's commands without isolation when bubblewrap is unavailable. Commands of the
   * scripted stand-in always may (they are the stack's own); a real model's need this opt-in.
   */
  unsafeSandbox?: boolean;
  /**
   * Deployment config `sandbox.registries`: private registries whose tokens (secrets of the local
   * secrets store, by name) the setup function gives to `environment.setup` only.
   */
  sandboxRegistries?: SandboxRegistry[];
  /** Diagnostic lines (never secrets). */
  log?: (line: string) => void;
}

export interface Stack {
  url: string;
  webhookUrl: string;
  forgeUrl: string;
  mailUrl: string;
  consoleUrl: string;
  apiKey?: string;
  endpoints: {
    dynamodb: string;
    sqs: string;
    stepfunctions: string;
    ses: string;
    secretsmanager: string;
    s3: string;
  };
  dataDir: string;
  stateMachineArn: string;
  webhookSecret: string;
  forge: Forge;
  model?: ModelServer;
  store: Store;
  sfn: SFNClient;
  /** The bodies a queue was sent (`code-factory-llm`, ...), oldest first: the local SQS keeps them. */
  sqsSent(queueName: string): string[];
  stop(): Promise<void>;
}

/**
 * The real-model options of `npm start` and `npm run demo`: with ANTHROPIC_API_KEY set, model
 * calls go to ANTHROPIC_BASE_URL when it is given, else to the public API. Throws on a base URL
 * that is not an http(s) URL, so a typo is not mistaken for the public API.
 */
export function anthropicFromEnv(
  environment: NodeJS.ProcessEnv,
): Pick<StackOptions, 'anthropicApiKey' | 'anthropicBaseUrl'> {
  const apiKey = environment.ANTHROPIC_API_KEY;
  if (!apiKey) return {};
  const baseUrl = environment.ANTHROPIC_BASE_URL;
  if (!baseUrl) return { anthropicApiKey: apiKey };
  let parsed: URL | undefined;
  try {
    parsed = new URL(baseUrl);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol))
    throw new Error(`ANTHROPIC_BASE_URL must be an http(s) URL, not ${JSON.stringify(baseUrl)}`);
  return { anthropicApiKey: apiKey, anthropicBaseUrl: baseUrl.replace(/\/+$/, '') };
}

/** Bedrock's ids for the stand-in's defaults (cross-region inference profiles, as most accounts use). */
export const LOCAL_BEDROCK_MODELS = {
  main: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
  fast: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
};
export const LOCAL_OPENAI_MODEL = 'local-model';

/**
 * MODEL_CONFIG for a stack whose every call goes to one provider: each alias lists that
 * provider's model. An OpenAI-compatible model is priced at 0 unless MODEL_CONFIG prices it.
 */
export function providerModelConfig(
  provider: Provider,
  options: { modelName?: string; openaiBaseUrl: string },
): string | undefined {
  const all = (main: string, fast = main) => ({
    planner: [main],
    coder: [main],
    reviewer: [main],
    fast: [fast],
  });
  if (provider === 'bedrock') {
    const main = `bedrock:${options.modelName ?? LOCAL_BEDROCK_MODELS.main}`;
    return JSON.stringify({
      defaultProvider: 'bedrock',
      aliases: all(main, options.modelName ? main : `bedrock:${LOCAL_BEDROCK_MODELS.fast}`),
    });
  }
  if (provider === 'openai-compatible') {
    const id = `openai-compatible:local/${options.modelName ?? LOCAL_OPENAI_MODEL}`;
    const free = { input: 0, output: 0, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0 };
    return JSON.stringify({
      defaultProvider: 'openai-compatible',
      endpoints: { local: { baseUrl: options.openaiBaseUrl, apiKeySecretId: SECRET_IDS.openai } },
      aliases: all(id),
      prices: { [id]: free },
    });
  }
  return undefined;
}

const lambdaContext = (name: string, timeoutMs: number): Context => {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:${name}`,
    memoryLimitInMB: '512',
    awsRequestId: randomBytes(16).toString('hex'),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const log = options.log ?? (() => undefined);
  const ownsDir = !options.dataDir;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'code-factory-')));
  for (const sub of ['dynamodb', 'forge', 'stepfunctions', 'secrets', 's3'])
    await mkdir(path.join(dataDir, sub), { recursive: true });
  const closers: Array<() => Promise<unknown>> = [];
  // Executions the engine ends while the stack stops are settled by the next start's sweep
  // (LocalEngineRestarted), never against emulators that are closing.
  let stopping = false;
  const sweeps = new Set<Promise<unknown>>();
  const stopAll = async () => {
    stopping = true;
    for (const close of closers.reverse()) await close().catch(() => undefined);
    if (ownsDir) await rm(dataDir, { recursive: true, force: true });
  };

  try {
    const persistent = !ownsDir;
    // Secrets first: a restart on the same data dir keeps its webhook secret and approval key, so
    // the forge signs with what the webhook handler verifies and old links stay valid. A secret
    // given explicitly (FACTORY_WEBHOOK_SECRET, ANTHROPIC_API_KEY) replaces the stored one.
    const secrets = await startSecrets({
      ...(persistent ? { dataDir: path.join(dataDir, 'secrets') } : {}),
      seed: {
        [SECRET_IDS.webhook]: options.webhookSecret ?? randomBytes(24).toString('base64url'),
        [SECRET_IDS.anthropic]: options.anthropicApiKey ?? 'local-model-key',
        [SECRET_IDS.openai]: options.openaiApiKey ?? 'local-model-key',
        [SECRET_IDS.approvalKey]: randomBytes(32).toString('base64url'),
      },
    });
    closers.push(() => secrets.close());
    if (options.webhookSecret) await secrets.set(SECRET_IDS.webhook, options.webhookSecret);
    if (options.anthropicApiKey) await secrets.set(SECRET_IDS.anthropic, options.anthropicApiKey);
    if (options.openaiApiKey) await secrets.set(SECRET_IDS.openai, options.openaiApiKey);
    const webhookSecret = await secrets.value(SECRET_IDS.webhook);
    if (!webhookSecret) throw new Error('the local secrets store has no webhook secret');

    const dynamo = await startDynamo(persistent ? { dataDir: path.join(dataDir, 'dynamodb') } : {});
    closers.push(() => dynamo.close());
    // Runs before the table closes: a sweep already under way finishes its writes.
    closers.push(() => Promise.allSettled([...sweeps]));
    await ensureTable(dynamo.endpoint, TABLE_NAME);
    const llm = llmQueueSettings(LLM_DEFAULTS);
    const sqs = await startSqs();
    closers.push(() => sqs.close());
    const queues = await createQueues(sqs.endpoint, {
      name: 'code-factory-llm',
      dlqName: 'code-factory-llm-dlq',
      maxReceiveCount: options.llmQueue?.maxReceiveCount ?? llm.queue.maxReceiveCount,
      visibilityTimeoutSeconds:
        options.llmQueue?.visibilityTimeoutSeconds ?? llm.queue.visibilityTimeoutSeconds,
      retentionSeconds: llm.queue.retentionDays * 86_400,
      dlqVisibilityTimeoutSeconds: llm.deadLetter.visibilityTimeoutSeconds,
    });
    const s3 = await startS3({
      directory: path.join(dataDir, 's3'),
      buckets: [WORKSPACE_BUCKET],
      credentials: FAKE_CREDENTIALS,
    });
    closers.push(() => s3.close());
    const ses = await startSes();
    closers.push(() => ses.close());

    const provider = options.provider ?? 'anthropic';
    // A real model: the Anthropic API with a key, or an OpenAI-compatible endpoint of the user's.
    // Bedrock is always the stand-in locally (the stack's credentials are fake).
    const realModel =
      provider === 'openai-compatible'
        ? options.openaiBaseUrl !== undefined
        : provider === 'anthropic' && options.anthropicApiKey !== undefined;
    const model = realModel
      ? undefined
      : await startModel({
          ...(options.modelScript ? { script: options.modelScript } : {}),
          awsCredentials: FAKE_CREDENTIALS,
        });
    if (model) {
      closers.push(() => model.close());
      if (options.llmFaults) model.faults.push(...parseFaultList(options.llmFaults));
    }

    // PR and approval links are stored with the data: on a restart the forge and the gateway
    // take the ports they had, if still free, so those links keep working.
    const ports = persistent ? new SavedPorts(path.join(dataDir, 'ports.json')) : undefined;
    const forge = await onSavedPort(ports, 'forge', undefined, (port) =>
      startForge({
        webhookSecret,
        ...(port ? { port } : {}),
        ...(persistent ? { dataDir: path.join(dataDir, 'forge') } : {}),
        ...(options.ciTimeoutMs ? { ciTimeoutMs: options.ciTimeoutMs } : {}),
      }),
    );
    closers.push(() => forge.close());
    if (!(await forgeHasSample(forge))) await forge.seedSample();

    // The factory's GitHub token is the forge bot's, kept in step with the forge on every start.
    await secrets.set(SECRET_IDS.github, JSON.stringify({ token: forge.botToken }));

    // The gateway first: its URL is the public base URL the approval links point at.
    const routes: Record<string, LambdaHttpHandler> = {};
    const lazy =
      (name: string): LambdaHttpHandler =>
      (event, context) => {
        const handler = routes[name];
        if (!handler) return Promise.resolve({ statusCode: 503, body: `${name} is not available` });
        return handler(event, context);
      };
    const gatewayRoutes: GatewayRoute[] = [
      { method: 'POST', path: '/v1/webhooks/github', handler: lazy('webhook'), timeoutMs: 10_000 },
      { method: 'ANY', path: '/v1/{proxy+}', handler: lazy('api') },
      { method: 'ANY', path: '/approvals/{id}', handler: lazy('approvals') },
      { method: 'GET', path: '/local/info', handler: lazy('localInfo') },
      { method: 'POST', path: '/local/repos', handler: lazy('localRepos') },
    ];
    const gateway = await onSavedPort(ports, 'gateway', options.port || undefined, (port) =>
      startGateway({
        ...(port ? { port } : {}),
        routes: gatewayRoutes,
        onError: (_error, route) => log(`gateway: handler error on ${route}`),
      }),
    );
    closers.push(() => gateway.close());

    // Step Functions with a late-bound stage runner: the runner needs the service's endpoint.
    let stageRunner: ((event: unknown, context: Context) => Promise<unknown>) | undefined;
    let copilot: ((event: unknown, context: Context) => Promise<unknown>) | undefined;
    // Executions the engine ends while it starts (interrupted by a restart) are held until the
    // store exists, so their runs are marked FAILED too rather than left waiting forever.
    const endedBeforeReady: ExecutionRecord[] = [];
    let onExecutionEnd: (record: ExecutionRecord) => Promise<void> = async (record) => {
      endedBeforeReady.push(record);
    };
    const definition = substitute(readFileSync(PIPELINE_ASL, 'utf8'), {
      StageRunnerFunctionArn: STAGE_RUNNER_ARN,
      LlmQueueUrl: queues.queueUrl,
      SandboxFunctionArn: SANDBOX_ARN,
      SandboxOnlineFunctionArn: SANDBOX_ONLINE_ARN,
      SandboxSetupFunctionArn: SANDBOX_SETUP_ARN,
    });
    const askDefinition = substitute(readFileSync(ASK_ASL, 'utf8'), {
      CopilotFunctionArn: COPILOT_ARN,
      LlmQueueUrl: queues.queueUrl,
    });
    // The sandbox function, bound to the local runner (bubblewrap, decision 0005).
    const sandbox = new LocalSandbox({
      allowUnsafe: options.unsafeSandbox === true || !realModel,
    });
    const isolation = sandbox.isolation();
    if (!isolation.isolated)
      log(
        realModel && !options.unsafeSandbox
          ? `sandbox: ${isolation.reason}; the model's commands will be refused (install bubblewrap, or pass --unsafe-sandbox)`
          : `sandbox: ${isolation.reason}; commands run WITHOUT isolation`,
      );
    const sandboxPorts = {
      runner: sandbox,
      workRoot: path.join(dataDir, 'sandbox-snapshots'),
      log: { info: () => undefined, warn: (message: string) => log(`sandbox: ${message}`) },
    };
    // As on AWS: the command functions only take the setup output; the setup function alone runs
    // it, with the registry tokens read from the secrets store (the runner decides the network).
    const sandboxHandler = createSandboxHandler({ ...sandboxPorts, setupMode: 'cached' });
    const registries = SandboxRegistries.parse(options.sandboxRegistries ?? []);
    const registrySecrets = new SecretsManagerSecrets(
      new SecretsManagerClient({
        endpoint: secrets.endpoint,
        region: LOCAL_REGION,
        credentials: FAKE_CREDENTIALS,
      }),
    );
    const setupHandler = createSandboxHandler({
      ...sandboxPorts,
      setupMode: 'run',
      ...(registries.length > 0
        ? {
            credentials: async () =>
              setupCredentialsOf(
                registries,
                await Promise.all(registries.map((r) => registrySecrets.get(r.secretId))),
              ),
          }
        : {}),
    });
    const sqsClient = new SQSClient({
      endpoint: sqs.endpoint,
      region: LOCAL_REGION,
      credentials: FAKE_CREDENTIALS,
    });
    const sfnEmulator = await startStepFunctions({
      ...(persistent ? { dataDir: path.join(dataDir, 'stepfunctions') } : {}),
      stateMachines: [
        { name: STATE_MACHINE_NAME, definition },
        { name: ASK_STATE_MACHINE_NAME, definition: askDefinition },
      ],
      lambdas: {
        [COPILOT_ARN]: (event, context) => {
          if (!copilot) throw new Error('copilot not ready');
          return copilot(event, context);
        },
        [SANDBOX_ARN]: (event) => sandboxHandler(event),
        [SANDBOX_ONLINE_ARN]: (event) => sandboxHandler(event),
        [SANDBOX_SETUP_ARN]: (event) => setupHandler(event),
        [STAGE_RUNNER_ARN]: (event, context) => {
          if (!stageRunner) throw new Error('stage runner not ready');
          return stageRunner(event, context);
        },
      },
      sqsClient,
      dynamoClient: new DynamoDBClient({
        endpoint: dynamo.endpoint,
        region: LOCAL_REGION,
        credentials: FAKE_CREDENTIALS,
      }),
      // As on AWS (lib/factory-stack.ts): 10 s below the stage tasks' 120 s.
      lambdaTimeoutMs: 110_000,
      onExecutionEnd: (record) => onExecutionEnd(record),
    });
    closers.push(() => sfnEmulator.close());
    const stateMachineArn = sfnEmulator.stateMachineArn(STATE_MACHINE_NAME);

    // The environment contract, exactly as CDK sets it on AWS, plus the endpoint overrides.
    Object.assign(process.env, {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_SFN: sfnEmulator.endpoint,
      AWS_ENDPOINT_URL_SESV2: ses.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      TABLE_NAME,
      STATE_MACHINE_ARN: stateMachineArn,
      ASK_STATE_MACHINE_ARN: sfnEmulator.stateMachineArn(ASK_STATE_MACHINE_NAME),
      LLM_QUEUE_URL: queues.queueUrl,
      WORKSPACE_BUCKET,
      WEBHOOK_SECRET_ID: SECRET_IDS.webhook,
      GITHUB_SECRET_ID: SECRET_IDS.github,
      ANTHROPIC_SECRET_ID: SECRET_IDS.anthropic,
      APPROVAL_KEY_SECRET_ID: SECRET_IDS.approvalKey,
      GITHUB_API_URL: forge.apiUrl,
      PUBLIC_BASE_URL: gateway.url,
      MAIL_FROM: 'factory@code-factory.local',
      FACTORY_BOT_LOGIN: forge.botLogin,
      DEFAULT_APPROVERS: Object.entries(SAMPLE_USER_EMAILS)
        .filter(([login]) => login === 'alice')
        .map(([login, email]) => `${login}:${email}`)
        .join(','),
      GITHUB_WRITE_INTERVAL_MS: '0',
      LLM_TURN_TIMEOUT_SECONDS: String(options.llmTurnTimeoutSeconds ?? 900),
      LLM_CALL_TIMEOUT_SECONDS: String(llm.callTimeoutSeconds),
    });
    const modelConfig =
      (typeof options.modelConfig === 'function'
        ? options.modelConfig(model?.url ?? '')
        : options.modelConfig) ??
      providerModelConfig(provider, {
        ...(options.modelName ? { modelName: options.modelName } : {}),
        openaiBaseUrl: options.openaiBaseUrl ?? `${model?.url ?? ''}/v1`,
      });
    if (modelConfig) process.env.MODEL_CONFIG = modelConfig;
    else delete process.env.MODEL_CONFIG;
    if (model) process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = model.url;
    else delete process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME;
    const anthropicBaseUrl = model?.url ?? options.anthropicBaseUrl;
    if (anthropicBaseUrl) process.env.ANTHROPIC_BASE_URL = anthropicBaseUrl;
    else delete process.env.ANTHROPIC_BASE_URL;
    if (options.maxWaitSeconds) process.env.MAX_WAIT_SECONDS = JSON.stringify(options.maxWaitSeconds);
    else delete process.env.MAX_WAIT_SECONDS;
    // A copy: env() caches only what it parses from process.env itself.
    const config = env({ ...process.env });

    const stageDeps = stagePorts(config);
    const stages = createStageHandler(stageDeps);
    stageRunner = stages as (event: unknown, context: Context) => Promise<unknown>;
    copilot = createCopilotHandler(copilotPorts(config)) as (
      event: unknown,
      context: Context,
    ) => Promise<unknown>;
    routes.webhook = createWebhookHandler(webhookPorts(config)) as LambdaHttpHandler;
    routes.api = createApiHandler(apiPorts(config)) as LambdaHttpHandler;
    routes.approvals = createApprovalsHandler(approvalsPorts(config)) as LambdaHttpHandler;

    const store = makeStore(config);
    onExecutionEnd = async (record) => {
      // The pipeline writes terminal statuses itself; this catches executions that ended without
      // doing so (engine restarted, aborted, an unexpected failure), so no run stays non-terminal,
      // and settles them as the pipeline's finalize does (PR, branch, status comment).
      if (stopping || record.status === 'RUNNING' || record.status === 'SUCCEEDED') return;
      const run = await store.getRun(record.name).catch(() => undefined);
      if (!run) {
        // An ask's execution that ended without writing its end (engine restarted, aborted).
        const ask = await store.getAsk(record.name).catch(() => undefined);
        if (ask?.status === 'PENDING')
          await store.finishAsk(ask.askId, {
            status: 'FAILED',
            error: {
              class: record.error ?? 'AskFailed',
              cause: record.cause ?? `the execution ended ${record.status}`,
            },
          });
        return;
      }
      if (isTerminal(run.status)) return;
      // What EventBridge's rule does on AWS (lib/constructs/execution-sweep.ts): the stage runner's
      // `execution-ended`, with the engine's own error (e.g. LocalEngineRestarted).
      if (stopping) return;
      const sweep = stages(
        {
          stage: 'execution-ended',
          runId: run.runId,
          status: record.status,
          error: { Error: record.error, Cause: record.cause },
        },
        lambdaContext('code-factory-stages', 110_000),
      ).catch((error: unknown) => log(`could not record the end of ${record.name}: ${String(error)}`));
      sweeps.add(sweep);
      await sweep.finally(() => sweeps.delete(sweep));
    };

    for (const record of endedBeforeReady.splice(0)) await onExecutionEnd(record);

    // The same chains as the Lambda entry points (functions/*/handler.ts).
    const worker = createLlmWorkerHandler(llmWorkerPorts(config));
    const dlq = createLlmDlqHandler(llmDlqPorts(config));
    const mappings: EventSourceMapping[] = [
      startEventSource({
        client: sqsClient,
        queueUrl: queues.queueUrl,
        queueArn: queues.queueArn,
        handler: worker,
        batchSize: llm.worker.batchSize,
        maximumConcurrency: llm.worker.maxConcurrency,
        functionTimeoutMs: llm.worker.timeoutSeconds * 1000,
        functionName: 'code-factory-llm-worker',
        onError: (p) => log(`llm worker: ${p.kind}: ${p.message}`),
      }),
      startEventSource({
        client: sqsClient,
        queueUrl: queues.dlqUrl,
        queueArn: queues.dlqArn,
        handler: async (event, context) => {
          await dlq(event, context);
        },
        batchSize: llm.deadLetter.batchSize,
        maximumConcurrency: llm.deadLetter.maxConcurrency,
        functionTimeoutMs: llm.deadLetter.handlerTimeoutSeconds * 1000,
        functionName: 'code-factory-llm-dlq',
      }),
    ];
    closers.push(async () => {
      await Promise.all(mappings.map((m) => m.stop()));
    });

    // One key per start, for the operator to use (shown once; only its hash is stored).
    const { apiKey } = await createApiKey(store, {
      name: `local-${new Date().toISOString()}`,
      scopes: ['runs:read', 'runs:write'],
      repoPatterns: ['*/*'],
    });

    const webhookUrl = `${gateway.url}/v1/webhooks/github`;
    forge.actions.setWebhookUrl(webhookUrl);
    const sfn = new SFNClient({
      endpoint: sfnEmulator.endpoint,
      region: LOCAL_REGION,
      credentials: FAKE_CREDENTIALS,
    });

    // The console's own key: read-only, kept server-side by its API proxy (the live run page).
    const { apiKey: consoleKey } = await createApiKey(store, {
      name: `console-${new Date().toISOString()}`,
      scopes: ['runs:read'],
      repoPatterns: ['*/*'],
    });
    // And the key of the actions a person confirms on a copilot proposal (retry, cancel).
    const { apiKey: consoleActionKey } = await createApiKey(store, {
      name: `console-actions-${new Date().toISOString()}`,
      scopes: ['runs:read', 'runs:write'],
      repoPatterns: ['*/*'],
    });
    const consoleServer = await startConsole({
      store,
      api: { url: gateway.url, key: consoleKey, writeKey: consoleActionKey },
      mailUrl: ses.mailUrl,
      forgeApiUrl: forge.apiUrl,
      forgeToken: forge.botToken,
    });
    closers.push(() => consoleServer.close());

    routes.localInfo = localInfoHandler({
      url: gateway.url,
      forgeUrl: forge.url,
      forgeApiUrl: forge.apiUrl,
      consoleUrl: consoleServer.url,
      mailUrl: ses.mailUrl,
      users: () => {
        const { [forge.botLogin]: _bot, ...users } = forge.tokens;
        return users;
      },
    });

    routes.localRepos = localReposHandler(forge);

    log(`stack ready at ${gateway.url}`);
    return {
      url: gateway.url,
      webhookUrl,
      forgeUrl: forge.url,
      mailUrl: ses.mailUrl,
      consoleUrl: consoleServer.url,
      apiKey,
      endpoints: {
        dynamodb: dynamo.endpoint,
        sqs: sqs.endpoint,
        stepfunctions: sfnEmulator.endpoint,
        ses: ses.endpoint,
        secretsmanager: secrets.endpoint,
        s3: s3.endpoint,
      },
      dataDir,
      stateMachineArn,
      webhookSecret,
      forge,
      ...(model ? { model } : {}),
      store,
      sfn,
      sqsSent: (queueName) => sqs.sent(queueName),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function forgeHasSample(forge: Forge): Promise<boolean> {
  const response = await fetch(`${forge.apiUrl}/repos/${SAMPLE_FULL_NAME}`, {
    headers: { authorization: `token ${forge.botToken}` },
  }).catch(() => undefined);
  return response?.ok ?? false;
}

/** For the demo and tests: a context for invoking a handler directly. */
export const localContext = lambdaContext;

/** The ports a persistent stack listened on, in `<data dir>/ports.json`. */
class SavedPorts {
  constructor(private readonly file: string) {}

  /** The saved ports; {} on a first start or an unreadable file. */
  private async read(): Promise<Record<string, unknown>> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as Record<string, unknown>;
    } catch {
      return {};
    }
  }

  async get(name: string): Promise<number | undefined> {
    const port = (await this.read())[name];
    return typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65_536 ? port : undefined;
  }

  async set(name: string, port: number): Promise<void> {
    await writeFile(this.file, JSON.stringify({ ...(await this.read()), [name]: port }));
  }
}

/**
 * Starts a server on the port asked for, else on the one it had last time (falling back to an
 * OS-chosen port if that one is taken now), and remembers the port it got.
 */
async function onSavedPort<T extends { url: string }>(
  ports: SavedPorts | undefined,
  name: string,
  asked: number | undefined,
  start: (port: number | undefined) => Promise<T>,
): Promise<T> {
  const saved = asked ?? (await ports?.get(name));
  let server: T;
  try {
    server = await start(saved);
  } catch (error) {
    if (asked !== undefined || saved === undefined || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE')
      throw error;
    server = await start(undefined);
  }
  await ports?.set(name, Number(new URL(server.url).port));
  return server;
}
