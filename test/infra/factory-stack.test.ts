import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/build-app';
import { parseModelConfig } from '../../functions/shared/domain/models';
import { env } from '../../functions/shared/config';
import { BUNDLE_LIMIT_BYTES, lambdaAssetSizes, WEBHOOK_BUNDLE_LIMIT_BYTES } from '../../lib/asset-sizes';
import { FactoryConfigError } from '../../lib/config';
import { shortestStageTaskSeconds } from '../../lib/constructs/workflow';
import { llmCallTimeoutSeconds } from '../../lib/llm-queue-settings';

const REPOSITORY_ROOT = join(import.meta.dirname, '../..');
const CFN_LINT = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;

// No factory.config.json here: only the context given to each app counts.
const cwd = mkdtempSync(join(tmpdir(), 'factory-stack-'));
const outdirs: string[] = [];
afterAll(() => {
  for (const dir of [cwd, ...outdirs]) rmSync(dir, { recursive: true, force: true });
});

function build(context: Record<string, unknown> = {}) {
  const outdir = mkdtempSync(join(tmpdir(), 'factory-cdk-out-'));
  outdirs.push(outdir);
  return buildApp({ context, cwd, outdir });
}

const REGISTRY_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme/npm-token-AbCdEf';
const productionContext = {
  factory: {
    github: { mode: 'app', appId: 99, botLogin: 'acme-factory[bot]' },
    mail: { from: 'factory@acme.io', defaultApprovers: ['alice:alice@acme.io'] },
    providers: { default: 'anthropic' },
    models: { coder: ['claude-opus-4-5', 'claude-sonnet-4-5'] },
    llm: { workerTimeoutSeconds: 300, maxConcurrency: 12 },
    encryption: 'customer-managed',
    table: { deletionProtection: false },
    sandbox: {
      price_per_second_usd: 0.00005,
      registries: [{ host: 'npm.pkg.github.com', secretArn: REGISTRY_SECRET, env: 'NPM_TOKEN' }],
    },
    logRetentionDays: 90,
  },
};

/** Every variable of the environment contract, read from functions/shared/config.ts itself. */
const contractSource = readFileSync(join(import.meta.dirname, '../../functions/shared/config.ts'), 'utf8');
const schemaBody = contractSource.slice(contractSource.indexOf('z.object({'), contractSource.indexOf('});'));
const contractVariables = [...schemaBody.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1] ?? '');
/** Variables the stack leaves to the handlers' defaults on purpose. */
const LEFT_TO_DEFAULTS = [
  'ANTHROPIC_BASE_URL', // unset = the real Anthropic API
  'AWS_ENDPOINT_URL_BEDROCK_RUNTIME', // unset = the region's Bedrock runtime
  'GITHUB_WRITE_INTERVAL_MS', // unset = the throttling plugin's guidance
  'MAX_ACTIVE_RUNS_PER_REPO',
  'LLM_TURN_TIMEOUT_SECONDS',
  'MAX_WAIT_SECONDS',
  'FACTORY_BOT_LOGIN', // set from factory.github.botLogin when configured
  'ASK_STATE_MACHINE_ARN', // set on the API function only: it starts asks
  'ANTHROPIC_SECRET_ID', // set only when a model uses the Anthropic API (not the Bedrock default)
];

describe('FactoryStack', () => {
  const defaults = build();
  const template = Template.fromStack(defaults.stack);
  const assembly = defaults.app.synth();
  const resources = template.toJSON().Resources as ReturnType<Template['findResources']>;
  const fns = defaults.stack.functions.functions;
  const propsOf = (fn: { node: { defaultChild?: unknown } }) =>
    resources[defaults.stack.getLogicalId(fn.node.defaultChild as never)]?.Properties;

  it('synthesizes the default profile with no context, and cdk-nag finds nothing unacknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(defaults.app);
    expect(report.violations).toEqual([]);
    // The registered plugin is the one `cdk synth` runs; in-memory synth throws on its errors.
    expect(defaults.nag.validateScope(defaults.app).success).toBe(true);
    expect(assembly.getStackByName('CodeFactory').template.Resources).toBeDefined();
  });

  // Optional (CI does not install it): the findings it reports are fixed or acknowledged with their
  // reason in .cfnlintrc.yaml or the resource's cfn-lint metadata.
  it.skipIf(!CFN_LINT)(
    'passes cfn-lint where it is installed',
    () => {
      const templatePath = join(assembly.directory, 'CodeFactory.template.json');
      const lint = spawnSync('cfn-lint', [templatePath], {
        cwd: REPOSITORY_ROOT,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(`${lint.stdout}${lint.stderr}`).toBe('');
      expect(lint.status).toBe(0);
    },
    130_000,
  );

  it('holds every concern: table, queues, secrets, sender, ten functions, pipeline, copilot, API, alarms', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::SQS::Queue', 2);
    // GitHub, webhook and approval key: the default models are on Bedrock, which needs no key.
    template.resourceCountIs('AWS::SecretsManager::Secret', 3);
    // The default encrypts with the stack's own key, execution histories included (decision 0004).
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      EncryptionConfiguration: { Type: 'CUSTOMER_MANAGED_KMS_KEY' },
    });
    template.resourceCountIs('AWS::SES::EmailIdentity', 1);
    // Six of the factory's own, three sandbox functions (decision 0005) and the copilot's.
    template.resourceCountIs('AWS::Lambda::Function', 10);
    // The pipeline, and the copilot's (statemachines/ask.ts).
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
    template.resourceCountIs('AWS::StepFunctions::StateMachineAlias', 1);
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 6);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 1800 });
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual([
      'AlarmTopicArn',
      'ApiUrl',
      'GitHubSecretArn',
      'LlmDeadLetterQueueUrl',
      'LlmQueueUrl',
      'StateMachineArn',
      'TableName',
      'WebhookLogGroupName',
      'WebhookSecretArn',
      'WebhookUrl',
    ]);
  });

  it('sets every required variable of the environment contract on every function', () => {
    expect(contractVariables).toContain('TABLE_NAME');
    expect(contractVariables.length).toBeGreaterThan(15);
    const apiEndpoint = { 'Fn::GetAtt': [expect.stringMatching(/^ApiHttpApi/), 'ApiEndpoint'] };
    for (const [name, fn] of Object.entries({ ...fns, copilot: defaults.stack.copilot.function })) {
      const variables = propsOf(fn.fn).Environment.Variables as Record<string, unknown>;
      const missing = contractVariables.filter((v) => !(v in variables) && !LEFT_TO_DEFAULTS.includes(v));
      expect(missing, name).toEqual([]);
      expect(variables, name).toMatchObject({
        PUBLIC_BASE_URL: apiEndpoint,
        // Runs start through the live alias of the named state machine.
        STATE_MACHINE_ARN: {
          'Fn::Join': ['', expect.arrayContaining([':stateMachine:CodeFactory-Pipeline:live'])],
        },
        POWERTOOLS_SERVICE_NAME: expect.any(String),
      });
      // With deploy-time values standing in for the tokens, the handlers' own parser accepts it.
      const concrete = Object.fromEntries(
        Object.entries(variables).map(([key, value]) => [
          key,
          typeof value === 'string'
            ? value
            : key === 'PUBLIC_BASE_URL'
              ? 'https://abc.execute-api.eu-west-1.amazonaws.com'
              : `${key}-value`,
        ]),
      );
      expect(() => env(concrete), name).not.toThrow();
    }
  });

  it('keeps the stage runner and the sandbox below their ASL task timeouts and sizes the worker to the queue visibility', () => {
    const asl = readFileSync(join(import.meta.dirname, '../../statemachines/pipeline.asl.json'), 'utf8');
    // A task the state machine gave up on must not keep running: each function times out first.
    expect(propsOf(fns.stages.fn).Timeout).toBeLessThan(shortestStageTaskSeconds(asl));
    expect(propsOf(fns.stages.fn).Timeout).toBe(110);
    const sandboxTask = Object.values(
      (
        JSON.parse(asl) as {
          States: Record<string, { Parameters?: { FunctionName?: string }; TimeoutSeconds?: number }>;
        }
      ).States,
    ).find((state) => state.Parameters?.FunctionName === '${SandboxFunctionArn}');
    expect(propsOf(defaults.stack.sandbox.function.fn).Timeout).toBeLessThan(
      sandboxTask?.TimeoutSeconds ?? 0,
    );
    const queue =
      resources[defaults.stack.getLogicalId(defaults.stack.queues.queue.node.defaultChild as never)]
        ?.Properties;
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * propsOf(fns.llmWorker.fn).Timeout);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    // A model request times out before the worker is killed, so its outcome is still recorded.
    const worker = propsOf(fns.llmWorker.fn);
    const callTimeout = Number(worker.Environment.Variables.LLM_CALL_TIMEOUT_SECONDS);
    expect(callTimeout).toBeGreaterThanOrEqual(5);
    expect(callTimeout).toBeLessThanOrEqual(worker.Timeout - 10);
    for (const seconds of [10, 30, 120, 900]) {
      expect(llmCallTimeoutSeconds(seconds), String(seconds)).toBeLessThan(seconds);
    }
  });

  it('gives the sandbox functions no permission but their own logs and traces, and no factory setting', () => {
    const statementsOf = (sandbox: typeof defaults.stack.sandbox.function) => {
      const roleId = defaults.stack.getLogicalId(sandbox.role.node.defaultChild as never);
      return Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
        .flatMap(
          (p) =>
            p.Properties.PolicyDocument.Statement as Array<{
              Action: string | string[];
              Effect: string;
              Condition?: unknown;
            }>,
        );
    };
    const { sandbox, sandboxOnline, sandboxSetup } = defaults.stack;
    for (const { function: fn } of [sandbox, sandboxOnline, sandboxSetup]) {
      const allowed = statementsOf(fn)
        .filter((s) => s.Effect === 'Allow')
        .flatMap((s) => ([] as string[]).concat(s.Action));
      expect(allowed.length).toBeGreaterThan(0);
      for (const action of allowed)
        expect(action).toMatch(
          fn === sandbox.function
            ? /^(logs:(CreateLogStream|PutLogEvents)|xray:[A-Za-z]+|ec2:[A-Za-z]+NetworkInterfaces?|ec2:DescribeSubnets|ec2:(Un)?[aA]ssignPrivateIpAddresses)$/
            : /^(logs:(CreateLogStream|PutLogEvents)|xray:[A-Za-z]+)$/,
        );
      const roleId = defaults.stack.getLogicalId(fn.role.node.defaultChild as never);
      expect(template.toJSON().Resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
      const variables = propsOf(fn.fn).Environment.Variables;
      expect(Object.keys(variables).filter((name) => !name.startsWith('POWERTOOLS_'))).toEqual([
        'SANDBOX_SETUP_MODE',
      ]);
      expect(propsOf(fn.fn).Timeout).toBe(900);
    }
    // The network interfaces are Lambda's to manage: the function's own code is denied them.
    const deny = statementsOf(sandbox.function).find((s) => s.Effect === 'Deny');
    expect(deny?.Condition).toEqual({ Null: { 'lambda:SourceFunctionArn': 'false' } });
    expect(propsOf(sandbox.function.fn).Environment.Variables.SANDBOX_SETUP_MODE).toBe('cached');
    expect(propsOf(sandboxOnline.function.fn).Environment.Variables.SANDBOX_SETUP_MODE).toBe('cached');
    expect(propsOf(sandboxSetup.function.fn).Environment.Variables.SANDBOX_SETUP_MODE).toBe('run');
  });

  it('keeps every Lambda bundle within 1 MB and the webhook within 300 KB (SPEC §8)', () => {
    const sizes = lambdaAssetSizes(assembly.directory, 'CodeFactory');
    expect(sizes).toHaveLength(10);
    for (const size of sizes) {
      // The whole asset folder counts, not just the bundle: nothing else may ride along.
      expect(size.assetBytes, size.name).toBe(size.bundleBytes);
      expect(size.assetBytes, size.name).toBeLessThanOrEqual(BUNDLE_LIMIT_BYTES);
    }
    const webhook = sizes.find((s) => /Webhook/.test(s.name));
    expect(webhook).toBeDefined();
    expect(webhook?.assetBytes).toBeLessThanOrEqual(WEBHOOK_BUNDLE_LIMIT_BYTES);
  });

  it('applies a production configuration and still passes cdk-nag', () => {
    const production = build(productionContext);
    production.stack.addFunction('Hello', { entry: join(import.meta.dirname, 'fixtures/hello.ts') });
    const prod = Template.fromStack(production.stack);
    prod.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    prod.hasResourceProperties('AWS::DynamoDB::Table', {
      DeletionProtectionEnabled: false,
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
    });
    prod.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 1800 });
    prod.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { SecretStringTemplate: '{"appId":"99"}', GenerateStringKey: 'privateKey' },
    });
    prod.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 12 },
    });
    prod.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'factory@acme.io' });
    prod.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });

    const variables = (fn: { node: { defaultChild?: unknown } }) =>
      prod.toJSON().Resources[production.stack.getLogicalId(fn.node.defaultChild as never)].Properties
        .Environment.Variables;
    const stageVariables = variables(production.stack.functions.functions.stages.fn);
    expect(stageVariables).toMatchObject({
      MAIL_FROM: 'factory@acme.io',
      DEFAULT_APPROVERS: 'alice:alice@acme.io',
      FACTORY_BOT_LOGIN: 'acme-factory[bot]',
      TABLE_NAME: { Ref: expect.stringMatching(/^StoreTable/) },
      SANDBOX_PRICE_PER_SECOND_USD: '0.00005',
    });
    // MODEL_CONFIG is what functions/shared/domain/models.ts reads.
    expect(parseModelConfig(stageVariables.MODEL_CONFIG).aliases.coder).toEqual([
      'claude-opus-4-5',
      'claude-sonnet-4-5',
    ]);
    // Unprefixed ids are the Anthropic API's once its key is configured (here, explicitly).
    expect(parseModelConfig(stageVariables.MODEL_CONFIG).defaultProvider).toBe('anthropic');
    expect(stageVariables.ANTHROPIC_SECRET_ID).toEqual({ Ref: expect.stringMatching(/^SecretsAnthropic/) });
    // Without models or providers configured: Bedrock and its built-in aliases, no Anthropic key.
    expect(propsOf(fns.stages.fn).Environment.Variables.MODEL_CONFIG).toBe('{"defaultProvider":"bedrock"}');

    // Registry tokens: the setup function alone knows the secret and may read it, nothing else.
    const { sandboxSetup, sandbox, sandboxOnline } = production.stack;
    expect(JSON.parse(variables(sandboxSetup.function.fn).SANDBOX_REGISTRIES)).toEqual([
      { host: 'npm.pkg.github.com', secretId: REGISTRY_SECRET, env: 'NPM_TOKEN' },
    ]);
    expect(variables(sandbox.function.fn).SANDBOX_REGISTRIES).toBeUndefined();
    expect(variables(sandboxOnline.function.fn).SANDBOX_REGISTRIES).toBeUndefined();
    const readers = Object.values(prod.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.PolicyDocument).includes(REGISTRY_SECRET),
    );
    expect(readers.map((policy) => policy.Properties.Roles)).toEqual([
      [{ Ref: production.stack.getLogicalId(sandboxSetup.function.role.node.defaultChild as never) }],
    ]);
    expect(JSON.stringify(readers[0]?.Properties.PolicyDocument)).toContain(
      '"secretsmanager:GetSecretValue"',
    );

    expect(new AwsSolutionsChecks().validateScope(production.app).violations).toEqual([]);
  }, 120_000);

  it('fails synth on an unacknowledged cdk-nag error, through the registered plugin', () => {
    const strayed = build();
    new secretsmanager.Secret(strayed.stack, 'Stray');
    expect(() => strayed.app.synth()).toThrow(/CodeFactory\/Stray\/Resource[\s\S]*AwsSolutions-SMG4/);
  }, 120_000);

  it('fails to build on a misconfiguration, naming the setting and the fix', () => {
    expect(() => build({ 'factory.github.mode': 'app' })).toThrow(FactoryConfigError);
    expect(() => build({ 'factory.github.mode': 'app' })).toThrow(
      /factory\.github\.appId is required .*: set it with -c factory\.github\.appId=123456/,
    );
    expect(() => build({ 'factory.llm.maxConcurrency': 0 })).toThrow(
      /factory\.llm\.maxConcurrency must be .*\(got 0\): set it with -c factory\.llm\.maxConcurrency=5/,
    );
    expect(() => build({ factory: { mail: { from: 'nope' } } })).toThrow(
      /factory\.mail\.from must be a valid email .*: set it with -c factory\.mail\.from=/,
    );
  });
});
