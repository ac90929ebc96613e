import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { env } from '../../functions/shared/config';
import { DEFAULT_SANDBOX_PRICE_PER_SECOND_USD } from '../../functions/shared/domain/sandbox-price';
import { parseModelConfig } from '../../functions/shared/domain/models';
import {
  defaultProviderOf,
  FactoryConfigError,
  loadFactoryConfig,
  parseFactoryConfig,
} from '../../lib/config';
import { modelConfigEnvironment } from '../../lib/factory-stack';

const emptyDir = mkdtempSync(join(tmpdir(), 'factory-config-'));
afterAll(() => rmSync(emptyDir, { recursive: true, force: true }));

/** The problems reported for a configuration, or [] when it is valid. */
function problemsOf(context: Record<string, unknown>, cwd = emptyDir): string[] {
  try {
    loadFactoryConfig({ context, cwd });
    return [];
  } catch (error) {
    if (error instanceof FactoryConfigError) return error.problems;
    throw error;
  }
}

describe('deployment configuration', () => {
  it('has a default profile that needs no context at all', () => {
    const config = loadFactoryConfig({ context: {}, cwd: emptyDir });
    expect(config).toEqual({
      github: { mode: 'token', apiUrl: 'https://api.github.com' },
      mail: { from: 'factory@example.com', defaultApprovers: [] },
      models: {},
      providers: { endpoints: {}, prices: {} },
      thinking: {},
      budgets: { perRunUsd: 5 },
      llm: { maxConcurrency: 5, workerTimeoutSeconds: 300 },
      table: { deletionProtection: true },
      sandbox: { price_per_second_usd: DEFAULT_SANDBOX_PRICE_PER_SECOND_USD, registries: [] },
      copilot: { askBudgetUsd: 0.5, dailyBudgetUsd: 5 },
      // Execution histories hold task tokens: encrypted with the stack's own key unless opted out.
      encryption: 'customer-managed',
      logRetentionDays: 30,
    });
  });

  it('defaults to Bedrock unless the Anthropic API is chosen or its key secret given, and checks the ARNs', () => {
    const load = (context: Record<string, unknown>) =>
      loadFactoryConfig({ context, cwd: emptyDir }).providers;
    expect(defaultProviderOf(load({}))).toBe('bedrock');
    expect(defaultProviderOf(load({ 'factory.providers.default': 'anthropic' }))).toBe('anthropic');
    const apiKeySecretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:anthropic-key-AbCdEf';
    expect(defaultProviderOf(load({ factory: { providers: { anthropic: { apiKeySecretArn } } } }))).toBe(
      'anthropic',
    );
    expect(() =>
      load({ factory: { providers: { anthropic: { apiKeySecretArn, kmsKeyArn: 'alias/mine' } } } }),
    ).toThrow(/factory\.providers\.anthropic\.kmsKeyArn must be the ARN of the KMS key/);
  });

  it('prices sandbox time from sandbox.price_per_second_usd, the Lambda default everywhere', () => {
    expect(DEFAULT_SANDBOX_PRICE_PER_SECOND_USD).toBe(0.0000333334);
    expect(
      loadFactoryConfig({ context: { 'factory.sandbox.price_per_second_usd': '0.0001' }, cwd: emptyDir })
        .sandbox,
    ).toEqual({ price_per_second_usd: 0.0001, registries: [] });
    // The functions' own default (no variable set) is the same number.
    const required = {
      TABLE_NAME: 't',
      STATE_MACHINE_ARN: 'arn',
      LLM_QUEUE_URL: 'q',
      WORKSPACE_BUCKET: 'b',
      WEBHOOK_SECRET_ID: 'w',
      GITHUB_SECRET_ID: 'g',
      ANTHROPIC_SECRET_ID: 'a',
      APPROVAL_KEY_SECRET_ID: 'k',
      PUBLIC_BASE_URL: 'https://factory.example',
      MAIL_FROM: 'factory@example.com',
    };
    expect(env(required).SANDBOX_PRICE_PER_SECOND_USD).toBe(DEFAULT_SANDBOX_PRICE_PER_SECOND_USD);
    expect(env({ ...required, SANDBOX_PRICE_PER_SECOND_USD: '0.0001' }).SANDBOX_PRICE_PER_SECOND_USD).toBe(
      0.0001,
    );
    expect(problemsOf({ 'factory.sandbox.price_per_second_usd': '-1' })).toEqual([
      expect.stringContaining('factory.sandbox.price_per_second_usd must be 0 or more'),
    ]);
  });

  it('takes private registries by host, secret ARN and variable, and rejects what it cannot use', () => {
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:npm-token-AbCdEf';
    const registries = [{ host: 'npm.pkg.github.com', secretArn, env: 'NPM_TOKEN', login: '__token__' }];
    expect(
      loadFactoryConfig({
        context: { 'factory.sandbox.registries': JSON.stringify(registries) },
        cwd: emptyDir,
      }).sandbox.registries,
    ).toEqual(registries);
    for (const bad of [
      [{ host: 'npm.pkg.github.com', secretArn: 'npm-token', env: 'NPM_TOKEN' }],
      [{ host: 'npm.pkg.github.com', secretArn, env: 'PATH' }],
      [{ host: 'https://npm.pkg.github.com/', secretArn, env: 'NPM_TOKEN' }],
      [{ host: 'npm.pkg.github.com', secretArn, env: 'NPM_TOKEN', token: 'inline' }],
    ])
      expect(problemsOf({ 'factory.sandbox.registries': JSON.stringify(bad) }), JSON.stringify(bad)).toEqual([
        expect.stringContaining('factory.sandbox.registries'),
      ]);
  });

  it('rejects app mode without an App id, naming the setting and the fix', () => {
    expect(problemsOf({ 'factory.github.mode': 'app' })).toEqual([
      'factory.github.appId is required when github.mode is "app": set it with -c factory.github.appId=123456 or in factory.config.json',
    ]);
  });

  it('rejects a bad sender email', () => {
    expect(problemsOf({ factory: { mail: { from: 'not-an-email' } } })).toEqual([
      'factory.mail.from must be a valid email address (got "not-an-email"): set it with -c factory.mail.from=factory@your-domain.com or in factory.config.json',
    ]);
  });

  it('rejects zero concurrency', () => {
    const [problem, ...rest] = problemsOf({ 'factory.llm.maxConcurrency': '0' });
    expect(rest).toEqual([]);
    expect(problem).toMatch(
      /^factory\.llm\.maxConcurrency must be between 2 and 1000 .*\(got 0\): set it with -c factory\.llm\.maxConcurrency=5/,
    );
  });

  it('quotes what was written when a number is not one (no NaN, no "" read as 0)', () => {
    for (const [key, value] of [
      ['factory.github.appId', 'abc'],
      ['factory.github.appId', ''],
      ['factory.logRetentionDays', 'abc'],
      ['factory.budgets.perRunUsd', '0x10'],
    ] as const) {
      const problems = problemsOf({ 'factory.github.mode': 'app', [key]: value });
      const problem = problems.find((p) => p.startsWith(key));
      expect(problem, `${key}=${value}`).toContain(`(got ${JSON.stringify(value)})`);
      expect(problem).not.toMatch(/NaN|got null|got 0\)/);
    }
  });

  it('rejects approvers without an email, reporting the list as a whole', () => {
    expect(problemsOf({ 'factory.mail.defaultApprovers': 'alice:alice@acme.io,bob' })).toEqual([
      'factory.mail.defaultApprovers must be login:email pairs such as "alice:alice@your-domain.com" (got "bob"): set it with -c factory.mail.defaultApprovers=alice:alice@your-domain.com or in factory.config.json',
    ]);
  });

  it('reports every problem at once, in one error message', () => {
    let message = '';
    try {
      parseFactoryConfig({ github: { mode: 'app' }, mail: { from: 'x' }, llm: { maxConcurrency: 0 } });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^Invalid Code Factory deployment configuration \(3 problems\):/);
    for (const setting of ['factory.github.appId', 'factory.mail.from', 'factory.llm.maxConcurrency']) {
      expect(message).toContain(`  - ${setting} `);
    }
  });

  it("takes extended thinking budgets by stage and the repositories' cap into MODEL_CONFIG", () => {
    const config = loadFactoryConfig({
      context: { 'factory.thinking.plan': '8000', 'factory.thinking.maxBudgetTokens': '12000' },
      cwd: emptyDir,
    });
    expect(config.thinking).toEqual({ plan: 8000, maxBudgetTokens: 12_000 });
    const modelConfig = modelConfigEnvironment(config.models, config.providers, config.thinking);
    expect(parseModelConfig(modelConfig).thinking).toEqual({
      budgets: { plan: 8000 },
      maxBudgetTokens: 12_000,
    });
    expect(modelConfigEnvironment(loadFactoryConfig({ context: {}, cwd: emptyDir }).models)).toBe('{}');
    expect(problemsOf({ 'factory.thinking.review': '512' })).toEqual([
      expect.stringContaining('factory.thinking.review must be 0 (off) or from 1024 to 64000 tokens'),
    ]);
  });

  it('rejects unknown settings and out-of-range values', () => {
    expect(
      problemsOf({
        factory: { github: { appid: 1 }, logRetentionDays: 2, llm: { workerTimeoutSeconds: 901 } },
        'factory.alarmEmail': 'oncall',
        'factory.table.deletionProtection': 'maybe',
      }),
    ).toEqual([
      'factory.github.appid is not a known setting: remove it (see docs/deploy.md for the settings)',
      expect.stringMatching(
        /^factory\.llm\.workerTimeoutSeconds must be between 10 and 900 seconds .*\(got 901\)/,
      ),
      expect.stringMatching(/^factory\.table\.deletionProtection must be true or false \(got "maybe"\)/),
      expect.stringMatching(/^factory\.logRetentionDays must be one of 1, 3, 5/),
      expect.stringMatching(/^factory\.alarmEmail must be a valid email address \(got "oncall"\)/),
    ]);
  });

  it('reads -c strings as JSON values and comma-separated lists', () => {
    const config = loadFactoryConfig({
      cwd: emptyDir,
      context: {
        'factory.github.mode': 'app',
        'factory.github.appId': '123',
        'factory.mail.defaultApprovers': 'alice:alice@acme.io, bob:bob@acme.io',
        'factory.github.botLogin': 'acme-factory[bot]',
        'factory.table.deletionProtection': 'false',
        'factory.models.coder': 'claude-sonnet-4-5',
      },
    });
    expect(config.github).toEqual({
      mode: 'app',
      appId: 123,
      apiUrl: 'https://api.github.com',
      botLogin: 'acme-factory[bot]',
    });
    expect(config.mail.defaultApprovers).toEqual(['alice:alice@acme.io', 'bob:bob@acme.io']);
    expect(config.table.deletionProtection).toBe(false);
    expect(config.models).toEqual({ coder: ['claude-sonnet-4-5'] });
  });

  it('layers factory.config.json < cdk.json context.factory < -c factory.* keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'factory-config-file-'));
    try {
      writeFileSync(
        join(dir, 'factory.config.json'),
        JSON.stringify({
          mail: { from: 'file@acme.io', defaultApprovers: ['carol:carol@acme.io'] },
          budgets: { perRunUsd: 2 },
        }),
      );
      const config = loadFactoryConfig({
        cwd: dir,
        context: { factory: { mail: { from: 'cdkjson@acme.io' } }, 'factory.budgets.perRunUsd': '3' },
      });
      expect(config.mail).toEqual({ from: 'cdkjson@acme.io', defaultApprovers: ['carol:carol@acme.io'] });
      expect(config.budgets.perRunUsd).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the file when factory.config.json is not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'factory-config-bad-'));
    try {
      writeFileSync(join(dir, 'factory.config.json'), '{ mail: ');
      expect(problemsOf({}, dir)).toEqual([
        expect.stringMatching(/^factory\.config\.json is not valid JSON/),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
