import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/build-app';

/**
 * Issue 19: with Bedrock selected, the LLM worker may invoke exactly the configured models and
 * inference profiles (InvokeModel and InvokeModelWithResponseStream), no other function may, and
 * cdk-nag has nothing unacknowledged.
 */

const cwd = mkdtempSync(join(tmpdir(), 'model-access-'));
const outdir = mkdtempSync(join(tmpdir(), 'model-access-out-'));
const defaultOutdir = mkdtempSync(join(tmpdir(), 'model-access-default-'));
afterAll(() => {
  for (const dir of [cwd, outdir, defaultOutdir]) rmSync(dir, { recursive: true, force: true });
});

const PROFILE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const FOUNDATION = 'anthropic.claude-haiku-4-5-20251001-v1:0';

type Statement = { Action: string | string[]; Resource: unknown };

describe('Bedrock access', () => {
  const built = buildApp({
    cwd,
    outdir,
    context: {
      factory: {
        providers: {
          default: 'bedrock',
          endpoints: { local: { baseUrl: 'https://llm.internal.example/v1' } },
          prices: {
            'openai-compatible:local/qwen': {
              input: 0,
              output: 0,
              cacheWrite5m: 0,
              cacheWrite1h: 0,
              cacheRead: 0,
            },
          },
        },
        models: {
          planner: [`bedrock:${PROFILE}`, 'openai-compatible:local/qwen'],
          coder: [PROFILE],
          reviewer: [PROFILE],
          fast: [FOUNDATION],
        },
      },
    },
  });
  const template = Template.fromStack(built.stack);
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  const bedrockStatements = Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
    .flatMap(([id, r]) =>
      ((r.Properties.PolicyDocument as { Statement: Statement[] }).Statement ?? [])
        .filter((s) => [s.Action].flat().some((a) => a.startsWith('bedrock:')))
        .map((s) => ({ id, statement: s, roles: JSON.stringify(r.Properties.Roles) })),
    );

  it('grants InvokeModel and InvokeModelWithResponseStream on the configured ARNs only, to the LLM worker only', () => {
    expect(bedrockStatements).toHaveLength(1);
    const [{ statement, roles }] = bedrockStatements as [(typeof bedrockStatements)[number]];
    expect([statement.Action].flat().sort()).toEqual([
      'bedrock:InvokeModel',
      'bedrock:InvokeModelWithResponseStream',
    ]);
    const arns = [statement.Resource].flat().map((r) => JSON.stringify(r));
    expect(arns).toHaveLength(3);
    const joined = arns.join('\n');
    expect(joined).toContain(`:inference-profile/${PROFILE}`);
    expect(joined).toContain(`:bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0`);
    expect(joined).toContain(`::foundation-model/${FOUNDATION}`);
    expect(joined).not.toMatch(/foundation-model\/\*|inference-profile\/\*|"\*"/);
    const worker = built.stack.getLogicalId(
      built.stack.functions.functions.llmWorker.role.node.defaultChild as never,
    );
    expect(roles).toContain(worker);
  });

  it('passes the providers to the functions and stays cdk-nag clean', () => {
    const report = new AwsSolutionsChecks().validateScope(built.app);
    expect(report.violations).toEqual([]);
    const config = JSON.parse(built.stack.baseEnvironment.MODEL_CONFIG ?? '{}') as Record<string, unknown>;
    expect(config.defaultProvider).toBe('bedrock');
    expect(config.endpoints).toEqual({ local: { baseUrl: 'https://llm.internal.example/v1' } });
  });

  it('without an Anthropic key, Bedrock is the default: the built-in global profiles only, no Anthropic secret', () => {
    const defaults = buildApp({ cwd, outdir: defaultOutdir });
    const template = Template.fromStack(defaults.stack);
    const json = JSON.stringify(template.toJSON());
    const config = JSON.parse(defaults.stack.baseEnvironment.MODEL_CONFIG ?? '{}') as Record<string, unknown>;
    expect(config).toEqual({ defaultProvider: 'bedrock' });
    expect(json).toContain(':inference-profile/global.anthropic.claude-sonnet-4-6');
    expect(json).toContain(':inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0');
    expect(json).toContain(':bedrock:*::foundation-model/anthropic.claude-sonnet-4-6');
    expect(defaults.stack.secrets.anthropic).toBeUndefined();
    expect(defaults.stack.baseEnvironment.ANTHROPIC_SECRET_ID).toBeUndefined();
    expect(Object.keys(template.findOutputs('*'))).not.toContain('AnthropicSecretArn');
    expect(new AwsSolutionsChecks().validateScope(defaults.app).violations).toEqual([]);
  });

  it('with the operator’s Anthropic key, the Anthropic API is the default: no Bedrock grant, that secret and its key only', () => {
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:anthropic-key-AbCdEf';
    const kmsKeyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const endpointKey = 'arn:aws:kms:eu-west-1:123456789012:key/99999999-12ab-34cd-56ef-1234567890ab';
    const endpointSecret = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:litellm-key-AbCdEf';
    const anthropicOutdir = mkdtempSync(join(tmpdir(), 'model-access-anthropic-'));
    try {
      const built = buildApp({
        cwd,
        outdir: anthropicOutdir,
        context: {
          factory: {
            providers: {
              anthropic: { apiKeySecretArn: secretArn, kmsKeyArn },
              endpoints: {
                litellm: {
                  baseUrl: 'https://litellm.example/v1',
                  apiKeySecretArn: endpointSecret,
                  kmsKeyArn: endpointKey,
                },
              },
            },
          },
        },
      });
      const template = Template.fromStack(built.stack);
      const json = JSON.stringify(template.toJSON());
      expect(json).not.toContain('bedrock:');
      expect(built.stack.baseEnvironment.ANTHROPIC_SECRET_ID).toBe(secretArn);
      expect(JSON.parse(built.stack.baseEnvironment.MODEL_CONFIG ?? '{}').defaultProvider).toBeUndefined();
      template.resourceCountIs('AWS::SecretsManager::Secret', 3);
      const worker = built.stack.getLogicalId(
        built.stack.functions.functions.llmWorker.role.node.defaultChild as never,
      );
      const workerStatements = Object.values(
        template.findResources('AWS::IAM::Policy') as Record<string, { Properties: Record<string, unknown> }>,
      )
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(worker))
        .flatMap(
          (p) => (p.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement,
        );
      const reads = workerStatements.filter((st) =>
        [st.Action].flat().includes('secretsmanager:GetSecretValue'),
      );
      expect(reads.flatMap((st) => [st.Resource].flat()).sort()).toEqual([secretArn, endpointSecret].sort());
      const decrypts = workerStatements.filter(
        (st) =>
          [st.Action].flat().includes('kms:Decrypt') &&
          JSON.stringify(st.Resource).includes(':123456789012:key/'),
      );
      expect(decrypts).toHaveLength(1);
      expect([decrypts[0]?.Resource].flat().sort()).toEqual([kmsKeyArn, endpointKey].sort());
      expect(JSON.stringify(decrypts[0]?.Condition)).toContain('kms:ViaService');
      expect(new AwsSolutionsChecks().validateScope(built.app).violations).toEqual([]);
    } finally {
      rmSync(anthropicOutdir, { recursive: true, force: true });
    }
  });
});
