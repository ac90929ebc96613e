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

  it('grants nothing on Bedrock in the default profile (the Anthropic API)', () => {
    const defaults = buildApp({ cwd, outdir: defaultOutdir });
    const json = JSON.stringify(Template.fromStack(defaults.stack).toJSON());
    expect(json).not.toContain('bedrock:');
  });
});
