import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Construct } from 'constructs';
import * as z from 'zod';
import { SandboxRegistry } from '../functions/shared/domain/registries';
import { DEFAULT_SANDBOX_PRICE_PER_SECOND_USD } from '../functions/shared/domain/sandbox-price';
import { MAX_THINKING_BUDGET, ThinkingBudget } from '../functions/shared/domain/thinking';
import { LLM_DEFAULTS } from './llm-queue-settings';

/**
 * The deployment configuration of Code Factory, read at synth time from (lowest precedence first):
 *   1. built-in defaults (the "default profile": synthesizes on a clean clone, not fit to deploy as is),
 *   2. `factory.config.json` in the working directory, if present,
 *   3. the `factory` object in cdk.json's `context`,
 *   4. dotted context keys, e.g. `npx cdk synth -c factory.github.appId=123`.
 * Everything is validated with zod; any problem fails synth with one line per setting that names the
 * setting and how to fix it.
 */

export const CONFIG_FILE_NAME = 'factory.config.json';
export const CONTEXT_KEY = 'factory';

/** Placeholder sender of the default profile; deploying with it only works once replaced. */
export const PLACEHOLDER_MAIL_FROM = 'factory@example.com';

/** The retention values CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const MODEL_ALIASES = ['planner', 'coder', 'reviewer', 'fast'] as const;
const modelId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/, {
  error: 'must be a model id such as "claude-sonnet-4-5"',
});

/** Context values given with `-c key=value` arrive as strings; a list may be comma separated. */
const commaSeparated = (value: unknown): unknown =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0)
    : value;

/** `login:email`, the DEFAULT_APPROVERS format of functions/shared/config.ts. */
const approver = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}:[^\s@:,]+@[^\s@:,]+\.[^\s@:,]+$/, {
  error: 'must be login:email pairs such as "alice:alice@your-domain.com"',
});

/**
 * Numbers arrive as text from `-c` context and as numbers from the config file. Only plain decimal
 * text becomes a number (no "" → 0, no "abc" → NaN), so an error can quote what was written.
 */
const decimal = <T extends z.ZodType>(schema: T) =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value),
    schema,
  );

/** A Secrets Manager secret's ARN (a key the operator keeps). */
const secretArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, {
    error: 'must be the ARN of a Secrets Manager secret holding the API key',
  });
/** The customer managed KMS key that encrypts such a secret (the functions get kms:Decrypt on it). */
const kmsKeyArn = z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, {
  error: 'must be the ARN of the KMS key that encrypts the secret (arn:aws:kms:<region>:<account>:key/<id>)',
});

export const FactoryConfigSchema = z
  .object({
    github: z
      .object({
        mode: z.enum(['app', 'token'], { error: 'must be "app" or "token"' }).default('token'),
        appId: decimal(
          z
            .number({ error: 'must be the numeric id of your GitHub App' })
            .int({ error: 'must be the numeric id of your GitHub App' })
            .positive({ error: 'must be the numeric id of your GitHub App' }),
        ).optional(),
        apiUrl: z
          .url({ protocol: /^https$/, error: 'must be an https URL' })
          .default('https://api.github.com'),
        /** The factory's own login (`<app-slug>[bot]` for an App): its activity never triggers runs. */
        botLogin: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}(?:\[bot\])?$/, {
            error: 'must be a GitHub login such as "my-factory[bot]"',
          })
          .optional(),
      })
      .strict()
      .prefault({})
      .superRefine((github, ctx) => {
        if (github.mode === 'app' && github.appId === undefined) {
          ctx.addIssue({ code: 'custom', path: ['appId'], message: 'is required when github.mode is "app"' });
        }
      }),
    mail: z
      .object({
        from: z.email({ error: 'must be a valid email address' }).default(PLACEHOLDER_MAIL_FROM),
        defaultApprovers: z.preprocess(commaSeparated, z.array(approver).max(50)).default([]),
      })
      .strict()
      .prefault({}),
    /** Alias → model ids in fallback order; one id may be given as a plain string. */
    models: z
      .partialRecord(
        z.enum(MODEL_ALIASES),
        z.preprocess(
          (value) => (typeof value === 'string' ? [value] : value),
          z.array(modelId).min(1).max(5),
        ),
      )
      .default({}),
    /**
     * Which provider unprefixed model ids mean (default: `anthropic` when an Anthropic key secret is
     * given, else `bedrock`), the Anthropic key, the OpenAI-compatible endpoints the functions may
     * call (by name, as `openai-compatible:<name>/<model>`), and prices of models the built-in
     * table lacks (USD per million tokens). See docs/deploy.md "Model providers".
     */
    providers: z
      .object({
        default: z
          .enum(['anthropic', 'bedrock', 'openai-compatible'], {
            error: 'must be "anthropic", "bedrock" or "openai-compatible"',
          })
          .optional(),
        /** An existing secret holding the Anthropic API key (else the stack makes one to fill). */
        anthropic: z
          .object({ apiKeySecretArn: secretArn, kmsKeyArn: kmsKeyArn.optional() })
          .strict()
          .optional(),
        endpoints: z
          .record(
            z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, { error: 'must be a lowercase endpoint name' }),
            z
              .object({
                baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL ending in /v1' }),
                apiKeySecretArn: secretArn.optional(),
                kmsKeyArn: kmsKeyArn.optional(),
              })
              .strict(),
          )
          .default({}),
        prices: z
          .record(
            modelId,
            z
              .object({
                input: z.number().min(0).max(1000),
                output: z.number().min(0).max(1000),
                cacheWrite5m: z.number().min(0).max(1000),
                cacheWrite1h: z.number().min(0).max(1000),
                cacheRead: z.number().min(0).max(1000),
              })
              .strict(),
          )
          .default({}),
      })
      .strict()
      .prefault({}),
    /** Extended thinking budgets by stage and the most a repository may ask for (docs/deploy.md). */
    thinking: z
      .object({
        plan: decimal(ThinkingBudget).optional(),
        implement: decimal(ThinkingBudget).optional(),
        review: decimal(ThinkingBudget).optional(),
        maxBudgetTokens: decimal(
          z
            .number({ error: `must be a whole number of tokens from 0 to ${MAX_THINKING_BUDGET}` })
            .int({ error: `must be a whole number of tokens from 0 to ${MAX_THINKING_BUDGET}` })
            .min(0, { error: `must be from 0 to ${MAX_THINKING_BUDGET}` })
            .max(MAX_THINKING_BUDGET, { error: `must be from 0 to ${MAX_THINKING_BUDGET}` }),
        ).optional(),
      })
      .strict()
      .prefault({}),
    budgets: z
      .object({
        perRunUsd: decimal(
          z
            .number({ error: 'must be a number of US dollars' })
            .positive({ error: 'must be more than 0' })
            .max(1000, { error: 'must be at most 1000' }),
        ).default(5),
        perRepoMonthlyUsd: decimal(
          z
            .number({ error: 'must be a number of US dollars' })
            .positive({ error: 'must be more than 0' })
            .max(100_000, { error: 'must be at most 100000' }),
        ).optional(),
      })
      .strict()
      .prefault({}),
    llm: z
      .object({
        maxConcurrency: decimal(
          z
            .number({ error: 'must be a whole number between 2 and 1000' })
            .int({ error: 'must be a whole number between 2 and 1000' })
            .min(2, { error: 'must be between 2 and 1000 (the SQS event source minimum is 2)' })
            .max(1000, { error: 'must be between 2 and 1000' }),
        ).default(LLM_DEFAULTS.maxConcurrency),
        workerTimeoutSeconds: decimal(
          z
            .number({ error: 'must be a whole number of seconds' })
            .int({ error: 'must be a whole number of seconds' })
            .min(10, { error: 'must be between 10 and 900 seconds' })
            .max(900, { error: 'must be between 10 and 900 seconds (the Lambda maximum)' }),
        ).default(LLM_DEFAULTS.workerTimeoutSeconds),
      })
      .strict()
      .prefault({}),
    /** What sandbox time is charged in the ledger and reserved on budgets (docs/deploy.md). */
    sandbox: z
      .object({
        price_per_second_usd: decimal(
          z
            .number({ error: 'must be a number of US dollars per second' })
            .min(0, { error: 'must be 0 or more' })
            .max(1, { error: 'must be at most 1' }),
        ).default(DEFAULT_SANDBOX_PRICE_PER_SECOND_USD),
        /**
         * Private package registries: each token (a Secrets Manager secret's string value) is
         * read by the sandbox's setup function and given to `environment.setup` only (decision 0005).
         */
        registries: z
          .array(
            z
              .object({
                host: SandboxRegistry.shape.host,
                secretArn: z
                  .string()
                  .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, {
                    error: 'must be the ARN of a Secrets Manager secret holding the registry token',
                  }),
                env: SandboxRegistry.shape.env,
                login: SandboxRegistry.shape.login,
              })
              .strict(),
          )
          .max(20, { error: 'must list at most 20 registries' })
          .default([]),
      })
      .strict()
      .prefault({}),
    /** The copilot (POST /v1/asks): one ask's budget, and each API key's daily cap on asks. */
    copilot: z
      .object({
        askBudgetUsd: decimal(
          z
            .number({ error: 'must be a number of US dollars' })
            .positive({ error: 'must be more than 0' })
            .max(100, { error: 'must be at most 100' }),
        ).default(0.5),
        dailyBudgetUsd: decimal(
          z
            .number({ error: 'must be a number of US dollars' })
            .positive({ error: 'must be more than 0' })
            .max(10_000, { error: 'must be at most 10000' }),
        ).default(5),
      })
      .strict()
      .prefault({}),
    table: z
      .object({ deletionProtection: z.boolean({ error: 'must be true or false' }).default(true) })
      .strict()
      .prefault({}),
    /**
     * `customer-managed` (default): one rotating KMS key of this stack encrypts the table, queues,
     * secrets and execution histories, which hold task tokens (decision 0004); `aws-managed`
     * opts out to AWS owned/managed keys.
     */
    encryption: z
      .enum(['aws-managed', 'customer-managed'], { error: 'must be "aws-managed" or "customer-managed"' })
      .default('customer-managed'),
    logRetentionDays: decimal(
      z
        .number({ error: `must be one of ${LOG_RETENTION_DAYS.join(', ')}` })
        .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
          error: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
        }),
    ).default(30),
    alarmEmail: z.email({ error: 'must be a valid email address' }).optional(),
  })
  .strict();

export type FactoryConfig = z.infer<typeof FactoryConfigSchema>;
export type FactoryConfigInput = z.input<typeof FactoryConfigSchema>;

/** An example value per setting, used in the "how to fix it" half of each error. */
const EXAMPLES: Record<string, string> = {
  'github.mode': 'app',
  'github.appId': '123456',
  'github.apiUrl': 'https://api.github.com',
  'mail.from': 'factory@your-domain.com',
  'github.botLogin': 'my-factory[bot]',
  'mail.defaultApprovers': 'alice:alice@your-domain.com',
  'budgets.perRunUsd': '5',
  'budgets.perRepoMonthlyUsd': '200',
  'llm.maxConcurrency': '5',
  'providers.default': 'bedrock',
  'providers.anthropic.apiKeySecretArn':
    'arn:aws:secretsmanager:eu-west-1:123456789012:secret:anthropic-key-AbCdEf',
  'providers.anthropic.kmsKeyArn':
    'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  'llm.workerTimeoutSeconds': '300',
  'table.deletionProtection': 'true',
  'sandbox.price_per_second_usd': '0.0000333334',
  'copilot.askBudgetUsd': '0.5',
  'copilot.dailyBudgetUsd': '5',
  'sandbox.registries':
    '[{"host":"npm.pkg.github.com","secretArn":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:npm-token","env":"NPM_TOKEN"}]',
  'thinking.plan': '8000',
  'thinking.review': '8000',
  'thinking.implement': '0',
  'thinking.maxBudgetTokens': '16000',
  encryption: 'aws-managed',
  logRetentionDays: '30',
  alarmEmail: 'oncall@your-domain.com',
};

export class FactoryConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid Code Factory deployment configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((problem) => `  - ${problem}`).join('\n'),
    );
    this.name = 'FactoryConfigError';
  }
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  // Lists are set whole, not by index: a bad item is reported on its list (a model id on its alias).
  const firstIndex = issue.path.findIndex((segment) => typeof segment === 'number');
  const path = firstIndex === -1 ? issue.path : issue.path.slice(0, firstIndex);
  const where = path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const setting = `${CONTEXT_KEY}.${where ? `${where}.` : ''}${key}`;
      return `${setting} is not a known setting: remove it (see docs/deploy.md for the settings)`;
    });
  }
  const setting = `${CONTEXT_KEY}.${where}`;
  const example = EXAMPLES[where] ?? (where.startsWith('models.') ? 'claude-sonnet-4-5' : '<value>');
  const got =
    issue.input === undefined || (typeof issue.input === 'object' && issue.input !== null)
      ? ''
      : ` (got ${JSON.stringify(issue.input)})`;
  return [
    `${setting} ${issue.message}${got}: set it with -c ${setting}=${example} or in ${CONFIG_FILE_NAME}`,
  ];
}

/** Validates raw configuration (already merged from its sources) or throws a FactoryConfigError. */
export function parseFactoryConfig(raw: unknown): FactoryConfig {
  const parsed = FactoryConfigSchema.safeParse(raw ?? {}, { reportInput: true });
  if (parsed.success) return parsed.data;
  throw new FactoryConfigError(parsed.error.issues.flatMap(describeIssue));
}

type Json = Record<string, unknown>;
const isPlainObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Later sources win; objects merge key by key, anything else (arrays included) is replaced. */
function deepMerge(base: Json, override: Json): Json {
  const merged: Json = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return merged;
}

/** `-c` values are strings: "123" and "true" become JSON values, anything unparsable stays a string. */
function contextValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function setPath(target: Json, path: string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (!isPlainObject(next)) node[segment] = {};
    node = node[segment] as Json;
  }
  const last = path.at(-1);
  if (last !== undefined) node[last] = value;
}

function readConfigFile(path: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new FactoryConfigError([
      `${CONFIG_FILE_NAME} is not valid JSON (${(error as Error).message}): fix the file`,
    ]);
  }
  if (!isPlainObject(parsed)) {
    throw new FactoryConfigError([`${CONFIG_FILE_NAME} must hold a JSON object of settings: fix the file`]);
  }
  return parsed;
}

export interface ConfigSources {
  /** All CDK context (cdk.json `context` plus `-c` values). */
  context: Record<string, unknown>;
  /** Directory searched for factory.config.json; the working directory by default. */
  cwd?: string;
}

/** Merges defaults, factory.config.json, cdk.json `context.factory` and `-c factory.*` keys, then validates. */
export function loadFactoryConfig({ context, cwd = process.cwd() }: ConfigSources): FactoryConfig {
  const filePath = resolve(cwd, CONFIG_FILE_NAME);
  let merged: Json = existsSync(filePath) ? readConfigFile(filePath) : {};

  const contextObject = contextValue(context[CONTEXT_KEY]);
  if (contextObject !== undefined) {
    if (!isPlainObject(contextObject)) {
      throw new FactoryConfigError([
        `${CONTEXT_KEY} context must be an object of settings: use -c ${CONTEXT_KEY}.<setting>=<value> instead`,
      ]);
    }
    merged = deepMerge(merged, contextObject);
  }

  const dotted: Json = {};
  for (const [key, value] of Object.entries(context)) {
    if (!key.startsWith(`${CONTEXT_KEY}.`)) continue;
    setPath(dotted, key.slice(CONTEXT_KEY.length + 1).split('.'), contextValue(value));
  }
  return parseFactoryConfig(deepMerge(merged, dotted));
}

/** Reads the configuration of a CDK app (or any construct in it) from its context. */
export function factoryConfigOf(scope: Construct, cwd?: string): FactoryConfig {
  return loadFactoryConfig({ context: scope.node.getAllContext(), cwd });
}

/**
 * The provider of unprefixed model ids: as configured; else the Anthropic API when the operator
 * gave its key's secret; else Amazon Bedrock, which needs no key (the worker's role calls it).
 */
export function defaultProviderOf(
  providers: FactoryConfig['providers'],
): 'anthropic' | 'bedrock' | 'openai-compatible' {
  return providers.default ?? (providers.anthropic ? 'anthropic' : 'bedrock');
}
