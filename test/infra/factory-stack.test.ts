import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/build-app';
import { FactoryConfigError } from '../../lib/config';

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

const productionContext = {
  factory: {
    github: { mode: 'app', appId: 99 },
    mail: { from: 'factory@acme.io', defaultApprovers: ['alice'] },
    encryption: 'customer-managed',
    table: { deletionProtection: false },
    llm: { workerTimeoutSeconds: 300 },
    logRetentionDays: 90,
  },
};

describe('FactoryStack', () => {
  const defaults = build();
  const template = Template.fromStack(defaults.stack);

  it('synthesizes the default profile with no context, and cdk-nag finds nothing unacknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(defaults.app);
    expect(report.violations).toEqual([]);
    // The registered plugin is the one `cdk synth` runs; in-memory synth throws on its errors.
    expect(defaults.nag.validateScope(defaults.app).success).toBe(true);
    const assembly = defaults.app.synth();
    expect(assembly.getStackByName('CodeFactory').template.Resources).toBeDefined();
  });

  it('holds the table, the LLM queue and DLQ and the four secrets, with AWS managed keys by default', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.resourceCountIs('AWS::SecretsManager::Secret', 4);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 720 });
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual([
      'AnthropicSecretArn',
      'GitHubSecretArn',
      'LlmDeadLetterQueueUrl',
      'LlmQueueUrl',
      'TableName',
      'WebhookSecretArn',
    ]);
  });

  it('exposes the environment contract it already knows for the functions to come', () => {
    const environment = defaults.stack.resolve(defaults.stack.baseEnvironment);
    expect(environment).toMatchObject({
      TABLE_NAME: { Ref: expect.stringMatching(/^StoreTable/) },
      LLM_QUEUE_URL: { Ref: expect.stringMatching(/^LlmQueue/) },
      GITHUB_SECRET_ID: { Ref: expect.stringMatching(/^SecretsGitHub/) },
      GITHUB_API_URL: 'https://api.github.com',
      MAIL_FROM: 'factory@example.com',
      DEFAULT_APPROVERS: '',
    });
    expect(environment.MODEL_CONFIG).toBeUndefined();
  });

  it('applies a production configuration, wires functions through the seam, and still passes cdk-nag', () => {
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

    // The function added through the seam: defaults, base environment, configured retention.
    prod.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    const [fn] = Object.values(prod.findResources('AWS::Lambda::Function'));
    expect(fn?.Properties.Environment.Variables).toMatchObject({
      MAIL_FROM: 'factory@acme.io',
      DEFAULT_APPROVERS: 'alice',
      TABLE_NAME: { Ref: expect.stringMatching(/^StoreTable/) },
      POWERTOOLS_SERVICE_NAME: 'code-factory',
    });

    expect(new AwsSolutionsChecks().validateScope(production.app).violations).toEqual([]);
  });

  it('fails synth on an unacknowledged cdk-nag error, through the registered plugin', () => {
    const strayed = build();
    new secretsmanager.Secret(strayed.stack, 'Stray');
    expect(() => strayed.app.synth()).toThrow(/CodeFactory\/Stray\/Resource[\s\S]*AwsSolutions-SMG4/);
  });

  it('fails to build on a misconfiguration, naming the setting', () => {
    expect(() => build({ 'factory.github.mode': 'app' })).toThrow(FactoryConfigError);
    expect(() => build({ 'factory.llm.maxConcurrency': 0 })).toThrow(/factory\.llm\.maxConcurrency must be/);
    expect(() => build({ factory: { mail: { from: 'nope' } } })).toThrow(
      /factory\.mail\.from must be a valid email/,
    );
  });
});
