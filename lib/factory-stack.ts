import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Annotations, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { MODEL_ALIASES, parseModelConfig } from '../functions/shared/domain/models';
import { parseModelRef } from '../functions/shared/domain/providers';
import { TABLE_KEYS } from '../functions/shared/store/keys';
import { defaultProviderOf, type FactoryConfig, PLACEHOLDER_MAIL_FROM } from './config';
import { FactoryAlarms } from './constructs/alarms';
import { Copilot } from './constructs/copilot';
import { FactoryHttpApi } from './constructs/api';
import { SenderIdentity } from './constructs/email';
import { Encryption } from './constructs/encryption';
import { FactoryFunctions } from './constructs/functions';
import { FactoryFunction, type FactoryFunctionProps } from './constructs/node-function';
import { BedrockAccess } from './constructs/model-access';
import { LlmQueues } from './constructs/queues';
import { llmQueueSettings } from './llm-queue-settings';
import { FactorySecrets } from './constructs/secrets';
import { FactoryTable } from './constructs/table';
import { PipelineArns, PipelineWorkflow, shortestStageTaskSeconds } from './constructs/workflow';
import { ExecutionSweep } from './constructs/execution-sweep';
import { SandboxFunction } from './constructs/sandbox';
import { SandboxNetwork } from './constructs/sandbox-network';
import { Workspaces } from './constructs/workspaces';

const REPOSITORY_ROOT = join(import.meta.dirname, '..');

/** Seconds the stage runner's Lambda timeout stays below its shortest state machine task (see the constructor). */
export const STAGE_RUNNER_MARGIN_SECONDS = 10;

export interface FactoryStackProps extends StackProps {
  config: FactoryConfig;
  /** The functions/ folder; tests point it at fixtures. Default: the repository's. */
  functionsDir?: string;
  /** The pipeline ASL. Default: statemachines/pipeline.asl.json. */
  definitionPath?: string;
  /** The copilot's ASL. Default: statemachines/ask.asl.json. */
  askDefinitionPath?: string;
}

/**
 * MODEL_CONFIG for the functions: the configured aliases, default provider, endpoints and prices,
 * `{}` (the built-in aliases and prices) when none are. Checked with the functions' own parser so
 * a bad value fails synth, not a run.
 */
export function modelConfigEnvironment(
  models: FactoryConfig['models'],
  providers?: FactoryConfig['providers'],
  thinking?: FactoryConfig['thinking'],
): string {
  const endpoints = Object.fromEntries(
    Object.entries(providers?.endpoints ?? {}).map(([name, e]) => [
      name,
      { baseUrl: e.baseUrl, ...(e.apiKeySecretArn ? { apiKeySecretId: e.apiKeySecretArn } : {}) },
    ]),
  );
  const value = JSON.stringify({
    ...(Object.keys(models).length > 0 ? { aliases: models } : {}),
    ...(providers && defaultProviderOf(providers) !== 'anthropic'
      ? { defaultProvider: defaultProviderOf(providers) }
      : {}),
    ...(Object.keys(endpoints).length > 0 ? { endpoints } : {}),
    ...(providers && Object.keys(providers.prices).length > 0 ? { prices: providers.prices } : {}),
    ...(thinking && Object.keys(thinking).length > 0 ? { thinking } : {}),
  });
  parseModelConfig(value);
  return value;
}

/** The Bedrock model ids the configuration names (the ones the LLM worker is granted). */
export function bedrockModelsOf(modelConfig: string): string[] {
  const config = parseModelConfig(modelConfig);
  const ids = MODEL_ALIASES.flatMap((alias) => config.aliases[alias]);
  return [
    ...new Set(
      ids
        .map((id) => parseModelRef(id, config.defaultProvider))
        .filter((ref) => ref.provider === 'bedrock')
        .map((ref) => ref.model),
    ),
  ];
}

/**
 * Code Factory on AWS: storage, the LLM queues, the secrets, the SES sender, the six functions, the copilot,
 * the pipeline state machine, the HTTP API and the operator's alarms and dashboard. Every
 * construct is under lib/constructs/ and tested on its own in test/infra/.
 */
export class FactoryStack extends Stack {
  readonly config: FactoryConfig;
  readonly encryption: Encryption;
  readonly table: FactoryTable;
  readonly queues: LlmQueues;
  readonly secrets: FactorySecrets;
  readonly sender: SenderIdentity;
  readonly pipeline: PipelineArns;
  readonly functions: FactoryFunctions;
  readonly workflow: PipelineWorkflow;
  readonly executionSweep: ExecutionSweep;
  readonly workspaces: Workspaces;
  /** Runs commands without network, in sandboxNetwork. */
  readonly sandbox: SandboxFunction;
  readonly sandboxOnline: SandboxFunction;
  readonly sandboxSetup: SandboxFunction;
  readonly sandboxNetwork: SandboxNetwork;
  readonly api: FactoryHttpApi;
  readonly copilot: Copilot;
  readonly alarms: FactoryAlarms;
  /**
   * The handlers' environment contract (functions/shared/config.ts) except PUBLIC_BASE_URL,
   * which each API-facing function gets from the HTTP API once it exists.
   */
  readonly baseEnvironment: Record<string, string>;

  constructor(scope: Construct, id: string, props: FactoryStackProps) {
    super(scope, id, {
      description: 'Code Factory: GitHub issues to reviewed, CI-verified, human-approved pull requests',
      ...props,
    });
    const { config } = props;
    this.config = config;
    const definitionPath = props.definitionPath ?? join(REPOSITORY_ROOT, 'statemachines/pipeline.asl.json');

    this.encryption = new Encryption(this, 'Encryption', { mode: config.encryption });
    const encryptionKey = this.encryption.key;
    this.table = new FactoryTable(this, 'Store', {
      deletionProtection: config.table.deletionProtection,
      encryptionKey,
    });
    this.queues = new LlmQueues(this, 'Llm', {
      settings: llmQueueSettings(config.llm),
      encryptionKey,
    });
    const modelConfig = modelConfigEnvironment(config.models, config.providers, config.thinking);
    const usesAnthropic = parseModelConfig(modelConfig).allowedProviders.includes('anthropic');
    const anthropicKey = config.providers.anthropic;
    this.secrets = new FactorySecrets(this, 'Secrets', {
      github: config.github,
      encryptionKey,
      anthropic: !usesAnthropic
        ? 'none'
        : anthropicKey
          ? { secretArn: anthropicKey.apiKeySecretArn }
          : 'create',
    });
    this.sender = new SenderIdentity(this, 'Email', { from: config.mail.from });
    this.pipeline = new PipelineArns(this);
    this.workspaces = new Workspaces(this, 'Workspaces', { encryptionKey });

    this.baseEnvironment = {
      TABLE_NAME: this.table.table.tableName,
      // Runs start through the live alias (the executions keep the version they started on).
      STATE_MACHINE_ARN: this.pipeline.liveAliasArn,
      LLM_QUEUE_URL: this.queues.queue.queueUrl,
      WORKSPACE_BUCKET: this.workspaces.bucket.bucketName,
      ...this.secrets.environment(),
      GITHUB_API_URL: config.github.apiUrl,
      MAIL_FROM: config.mail.from,
      DEFAULT_APPROVERS: config.mail.defaultApprovers.join(','),
      ...(config.github.botLogin ? { FACTORY_BOT_LOGIN: config.github.botLogin } : {}),
      MODEL_CONFIG: modelConfig,
      LLM_CALL_TIMEOUT_SECONDS: String(this.queues.settings.callTimeoutSeconds),
      SANDBOX_PRICE_PER_SECOND_USD: String(config.sandbox.price_per_second_usd),
      COPILOT_ASK_BUDGET_USD: String(config.copilot.askBudgetUsd),
      COPILOT_DAILY_BUDGET_USD: String(config.copilot.dailyBudgetUsd),
    };

    // The stage runner's Lambda timeout is below the TimeoutSeconds of every task that runs it, so
    // a slow stage is stopped by Lambda and reported as the task's error: a task the state machine
    // already gave up on can never keep writing (pushing, commenting) behind its back.
    const stageRunnerTimeout = Duration.seconds(
      shortestStageTaskSeconds(readFileSync(definitionPath, 'utf8')) - STAGE_RUNNER_MARGIN_SECONDS,
    );
    this.functions = new FactoryFunctions(this, 'Functions', {
      functionsDir: props.functionsDir ?? join(REPOSITORY_ROOT, 'functions'),
      environment: this.baseEnvironment,
      logRetentionDays: config.logRetentionDays,
      table: this.table.table,
      indexNames: TABLE_KEYS.gsi.map((gsi) => gsi.indexName),
      queues: this.queues,
      secrets: this.secrets,
      encryptionKey,
      pipeline: this.pipeline,
      workspaces: this.workspaces.bucket,
      sender: this.sender,
      stageRunnerTimeout,
    });
    const fns = this.functions.functions;
    // Model providers: Bedrock on the configured models only; each endpoint's key secret.
    const bedrockModels = bedrockModelsOf(this.baseEnvironment.MODEL_CONFIG ?? '');
    if (bedrockModels.length > 0)
      new BedrockAccess(this, 'Bedrock', { role: fns.llmWorker.role, models: bedrockModels });
    const endpointSecrets = Object.values(config.providers.endpoints).flatMap((e) =>
      e.apiKeySecretArn ? [e.apiKeySecretArn] : [],
    );
    if (endpointSecrets.length > 0)
      fns.llmWorker.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: endpointSecrets }),
      );
    // Keys the operator's own secrets are encrypted with: decrypt through Secrets Manager only.
    const operatorKeys = [
      ...(usesAnthropic && anthropicKey?.kmsKeyArn ? [anthropicKey.kmsKeyArn] : []),
      ...Object.values(config.providers.endpoints).flatMap((e) =>
        e.apiKeySecretArn && e.kmsKeyArn ? [e.kmsKeyArn] : [],
      ),
    ];
    if (operatorKeys.length > 0)
      fns.llmWorker.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [...new Set(operatorKeys)],
          conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.region}.amazonaws.com` } },
        }),
      );

    // The sandbox (decision 0005): commands without network in isolated subnets, commands with
    // network (`environment.network: true`) and the setup (registry tokens) outside.
    const sandboxEntry = join(
      props.functionsDir ?? join(REPOSITORY_ROOT, 'functions'),
      'sandbox',
      'handler.ts',
    );
    this.sandboxNetwork = new SandboxNetwork(this, 'SandboxNetwork', {
      workspaces: this.workspaces.bucket,
      logRetentionDays: config.logRetentionDays,
    });
    this.sandbox = new SandboxFunction(this, 'Sandbox', {
      entry: sandboxEntry,
      logRetentionDays: config.logRetentionDays,
      description: 'Code Factory sandbox: runs the agent’s commands on a workspace copy, without network',
      network: this.sandboxNetwork,
    });
    this.sandboxOnline = new SandboxFunction(this, 'SandboxOnline', {
      entry: sandboxEntry,
      logRetentionDays: config.logRetentionDays,
      description: 'Code Factory sandbox: runs the agent’s commands with network (environment.network)',
    });
    this.sandboxSetup = new SandboxFunction(this, 'SandboxSetup', {
      entry: sandboxEntry,
      logRetentionDays: config.logRetentionDays,
      description: 'Code Factory sandbox: runs environment.setup with the registry tokens, caches its output',
      setup: {
        registries: config.sandbox.registries.map(({ secretArn, ...registry }) => ({
          ...registry,
          secretId: secretArn,
        })),
      },
    });
    this.workflow = new PipelineWorkflow(this, 'Workflow', {
      arns: this.pipeline,
      definitionPath,
      stageRunner: fns.stages.fn,
      sandbox: {
        offline: this.sandbox.function.fn,
        online: this.sandboxOnline.function.fn,
        setup: this.sandboxSetup.function.fn,
      },
      llmQueue: this.queues.queue,
      encryptionKey,
      logRetentionDays: config.logRetentionDays,
    });
    this.executionSweep = new ExecutionSweep(this, 'ExecutionSweep', {
      stateMachine: this.workflow.stateMachine,
      stageRunner: fns.stages.fn,
    });

    const functionsDir = props.functionsDir ?? join(REPOSITORY_ROOT, 'functions');
    this.copilot = new Copilot(this, 'Copilot', {
      entry: join(functionsDir, 'copilot', 'handler.ts'),
      definitionPath: props.askDefinitionPath ?? join(REPOSITORY_ROOT, 'statemachines/ask.asl.json'),
      environment: this.baseEnvironment,
      logRetentionDays: config.logRetentionDays,
      table: this.table.table,
      indexNames: TABLE_KEYS.gsi.map((gsi) => gsi.indexName),
      llmQueue: this.queues.queue,
      ...(encryptionKey ? { encryptionKey } : {}),
      api: fns.api,
      llmWorker: fns.llmWorker,
      llmDlq: fns.llmDlq,
    });

    this.api = new FactoryHttpApi(this, 'Api', {
      functions: { webhook: fns.webhook.fn, api: fns.api.fn, approvals: fns.approvals.fn },
      logRetentionDays: config.logRetentionDays,
    });
    // No cycle: functions reference the API resource (its endpoint), while only the routes'
    // integrations and invoke permissions, separate resources, reference the functions.
    for (const fn of [...Object.values(fns), this.copilot.function])
      fn.fn.addEnvironment('PUBLIC_BASE_URL', this.api.url);

    this.alarms = new FactoryAlarms(this, 'Alarms', {
      deadLetterQueue: this.queues.deadLetterQueue,
      llmQueue: this.queues.queue,
      stateMachine: this.workflow.stateMachine,
      httpApi: this.api.httpApi,
      functions: {
        ...Object.fromEntries(Object.entries(fns).map(([name, fn]) => [name, fn.fn])),
        copilot: this.copilot.function.fn,
      },
      llmWorker: fns.llmWorker.fn,
      llmDlq: fns.llmDlq.fn,
      alarmEmail: config.alarmEmail,
      encryptionKey: encryptionKey as kms.Key | undefined,
    });

    if (config.mail.from === PLACEHOLDER_MAIL_FROM) {
      Annotations.of(this).addWarningV2(
        '@code-factory/placeholder-mail-from',
        `factory.mail.from is the placeholder ${PLACEHOLDER_MAIL_FROM}: set it to a verified SES sender with -c factory.mail.from=you@your-domain.com or in factory.config.json before deploying`,
      );
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'WebhookUrl', {
      value: this.api.webhookUrl,
      description: 'Payload URL for the GitHub App webhook',
    });
    new CfnOutput(this, 'WebhookLogGroupName', {
      value: this.functions.functions.webhook.logGroup.logGroupName,
      description: 'Log group of the webhook function (aws logs tail <name>)',
    });
    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
    new CfnOutput(this, 'TableName', { value: this.table.table.tableName });
    new CfnOutput(this, 'LlmQueueUrl', { value: this.queues.queue.queueUrl });
    new CfnOutput(this, 'LlmDeadLetterQueueUrl', { value: this.queues.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'GitHubSecretArn', { value: this.secrets.github.secretArn });
    new CfnOutput(this, 'WebhookSecretArn', { value: this.secrets.webhookSecret.secretArn });
    if (this.secrets.anthropic)
      new CfnOutput(this, 'AnthropicSecretArn', { value: this.secrets.anthropic.secretArn });
  }

  /** A handler with the Code Factory defaults, the configured log retention and `baseEnvironment`. */
  addFunction(
    id: string,
    props: Omit<FactoryFunctionProps, 'logRetentionDays'> & { logRetentionDays?: number },
  ): FactoryFunction {
    return new FactoryFunction(this, id, {
      ...props,
      logRetentionDays: props.logRetentionDays ?? this.config.logRetentionDays,
      environment: { ...this.baseEnvironment, ...props.environment },
    });
  }
}
