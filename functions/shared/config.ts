import * as z from 'zod';
import { SandboxRegistries } from './domain/registries';
import { DEFAULT_SANDBOX_PRICE_PER_SECOND_USD } from './domain/sandbox-price';

/**
 * The environment contract between the deployments (CDK in lib/, the embedded stack in local/)
 * and the handlers. Every handler reads its settings through `env()`; nothing else reads
 * process.env. Secrets are never in the environment: only the ids of Secrets Manager secrets.
 */
const EnvSchema = z.object({
  TABLE_NAME: z.string().min(1),
  STATE_MACHINE_ARN: z.string().min(1),
  LLM_QUEUE_URL: z.string().min(1),
  /** The S3 bucket of workspace snapshots (and later CI logs and sandbox transfers). */
  WORKSPACE_BUCKET: z.string().min(1),
  /** Secrets Manager ids. */
  WEBHOOK_SECRET_ID: z.string().min(1),
  GITHUB_SECRET_ID: z.string().min(1),
  /** Absent when no model of the deployment uses the Anthropic API (the Bedrock default). */
  ANTHROPIC_SECRET_ID: z.string().min(1).optional(),
  APPROVAL_KEY_SECRET_ID: z.string().min(1),
  /** Octokit baseUrl; the embedded stack points it at the local forge. */
  GITHUB_API_URL: z.string().url().default('https://api.github.com'),
  /** Anthropic SDK baseURL; unset = the real API. */
  ANTHROPIC_BASE_URL: z.string().url().optional(),
  /** Bedrock runtime endpoint (the AWS SDKs' standard variable); unset = the region's. */
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME: z.string().url().optional(),
  /** Where approval links point (the HTTP API's URL). */
  PUBLIC_BASE_URL: z.string().url(),
  MAIL_FROM: z.string().email(),
  /** The factory's own GitHub login: its activity never triggers runs. */
  FACTORY_BOT_LOGIN: z.string().min(1).default('code-factory[bot]'),
  /** JSON model aliases, fallbacks, prices, default provider and endpoints; defaults in domain/models.ts. */
  MODEL_CONFIG: z.string().optional(),
  /** `login:email` pairs, comma separated, for repos whose factory.yml names no approvers. */
  DEFAULT_APPROVERS: z.string().default(''),
  /** Minimum spacing of GitHub writes (unset: the throttling plugin's 1 s / 3 s guidance). */
  GITHUB_WRITE_INTERVAL_MS: z.coerce.number().int().min(0).max(10_000).optional(),
  MAX_ACTIVE_RUNS_PER_REPO: z.coerce.number().int().min(1).max(100).default(3),
  /** How long one queued model turn may take, SQS-delayed retries included. */
  LLM_TURN_TIMEOUT_SECONDS: z.coerce.number().int().min(10).max(86_400).default(900),
  /** One model request's timeout: shorter than the worker Lambda's (CDK derives it from that). */
  LLM_CALL_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(900).default(100),
  /** Deployment-wide caps on human and CI waits, in seconds (JSON; short in tests). */
  MAX_WAIT_SECONDS: z.string().optional(),
  /** Deployment config `sandbox.price_per_second_usd`: what a second of sandbox time is charged. */
  /** The copilot's state machine (statemachines/ask.ts): the API starts one execution per ask. */
  ASK_STATE_MACHINE_ARN: z.string().min(1).optional(),
  /** Deployment config `copilot`: one ask's budget, and each API key's daily cap on asks, in USD. */
  COPILOT_ASK_BUDGET_USD: z.coerce.number().positive().max(100).default(0.5),
  COPILOT_DAILY_BUDGET_USD: z.coerce.number().positive().max(10_000).default(5),
  SANDBOX_PRICE_PER_SECOND_USD: z.coerce.number().min(0).max(1).default(DEFAULT_SANDBOX_PRICE_PER_SECOND_USD),
});
export type Env = z.infer<typeof EnvSchema>;

let cached: Env | undefined;

/** Parsed once per process (module scope), failing fast with the missing names. */
export function env(source: NodeJS.ProcessEnv = process.env): Env {
  if (source === process.env && cached) return cached;
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const names = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid environment: ${names}`);
  }
  if (source === process.env) cached = parsed.data;
  return parsed.data;
}

/**
 * The sandbox functions' own contract (decision 0005): they get no factory setting, only these.
 * Registry entries name secrets and variables, never a token.
 */
const SandboxEnvSchema = z.object({
  /** `run`: this function runs `environment.setup` (the setup function); `cached`: it only takes its output. */
  SANDBOX_SETUP_MODE: z.enum(['run', 'cached']).default('cached'),
  /** JSON of domain/registries.ts SandboxRegistries; read by the setup function only. */
  SANDBOX_REGISTRIES: z
    .string()
    .default('[]')
    .transform((text, context) => {
      const parsed = SandboxRegistries.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
      context.addIssue({ code: 'custom', message: parsed.error.message });
      return z.NEVER;
    }),
});
export type SandboxEnv = z.infer<typeof SandboxEnvSchema>;

export function sandboxEnv(source: NodeJS.ProcessEnv = process.env): SandboxEnv {
  const parsed = SandboxEnvSchema.safeParse(source);
  if (!parsed.success)
    throw new Error(
      `invalid sandbox environment: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`,
    );
  return parsed.data;
}
