import { Annotations, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type FactoryConfig, PLACEHOLDER_MAIL_FROM } from './config';
import { Encryption } from './constructs/encryption';
import { FactoryFunction, type FactoryFunctionProps } from './constructs/node-function';
import { LlmQueues } from './constructs/queues';
import { FactorySecrets } from './constructs/secrets';
import { FactoryTable } from './constructs/table';

export interface FactoryStackProps extends StackProps {
  config: FactoryConfig;
}

/**
 * Code Factory on AWS. This is the skeleton of issue 2: storage, the LLM queues and the secrets.
 * Seams for the rest of the stack (issue 9), each a construct under lib/constructs/ wired here:
 *   - functions: `addFunction()` gives each handler the defaults and `baseEnvironment`;
 *     the LLM worker's timeout must be `queues.workerTimeout` (the queue's visibility is 6× it)
 *     and its SQS event source `maxConcurrency` is `config.llm.maxConcurrency`;
 *   - workflow: the state machine from statemachines/pipeline.asl.json, substituting
 *     `LlmQueueUrl` with `queues.queue.queueUrl` and `StageRunnerFunctionArn`, then adding
 *     STATE_MACHINE_ARN to every function's environment;
 *   - api: the HTTP API (webhooks, REST API, approvals), which also yields PUBLIC_BASE_URL;
 *   - email: the SES identity for `config.mail.from`;
 *   - alarms: an SNS topic (subscribed by `config.alarmEmail`) and the dashboard.
 */
export class FactoryStack extends Stack {
  readonly config: FactoryConfig;
  readonly encryption: Encryption;
  readonly table: FactoryTable;
  readonly queues: LlmQueues;
  readonly secrets: FactorySecrets;
  /**
   * The part of the handlers' environment contract (functions/shared/config.ts) known to this
   * skeleton; STATE_MACHINE_ARN and PUBLIC_BASE_URL come with the workflow and the API.
   */
  readonly baseEnvironment: Record<string, string>;

  constructor(scope: Construct, id: string, props: FactoryStackProps) {
    super(scope, id, {
      description: 'Code Factory: GitHub issues to reviewed, CI-verified, human-approved pull requests',
      ...props,
    });
    const { config } = props;
    this.config = config;

    this.encryption = new Encryption(this, 'Encryption', { mode: config.encryption });
    const encryptionKey = this.encryption.key;
    this.table = new FactoryTable(this, 'Store', {
      deletionProtection: config.table.deletionProtection,
      encryptionKey,
    });
    this.queues = new LlmQueues(this, 'Llm', {
      workerTimeout: Duration.seconds(config.llm.workerTimeoutSeconds),
      encryptionKey,
    });
    this.secrets = new FactorySecrets(this, 'Secrets', { github: config.github, encryptionKey });

    this.baseEnvironment = {
      TABLE_NAME: this.table.table.tableName,
      LLM_QUEUE_URL: this.queues.queue.queueUrl,
      ...this.secrets.environment(),
      GITHUB_API_URL: config.github.apiUrl,
      MAIL_FROM: config.mail.from,
      DEFAULT_APPROVERS: config.mail.defaultApprovers.join(','),
      ...(Object.keys(config.models).length > 0
        ? { MODEL_CONFIG: JSON.stringify({ aliases: config.models }) }
        : {}),
    };

    if (config.mail.from === PLACEHOLDER_MAIL_FROM) {
      Annotations.of(this).addWarningV2(
        '@code-factory/placeholder-mail-from',
        `factory.mail.from is the placeholder ${PLACEHOLDER_MAIL_FROM}: set it to a verified SES sender with -c factory.mail.from=you@your-domain.com or in factory.config.json before deploying`,
      );
    }

    new CfnOutput(this, 'TableName', { value: this.table.table.tableName });
    new CfnOutput(this, 'LlmQueueUrl', { value: this.queues.queue.queueUrl });
    new CfnOutput(this, 'LlmDeadLetterQueueUrl', { value: this.queues.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'GitHubSecretArn', { value: this.secrets.github.secretArn });
    new CfnOutput(this, 'WebhookSecretArn', { value: this.secrets.webhookSecret.secretArn });
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
