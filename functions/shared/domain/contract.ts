import * as z from 'zod';
import { type FactoryConfig, LIMITS, ON_FAILURE } from './factory-config';
import { type ConfigProblem, readFactoryConfig } from './factory-config-yaml';
import { MODEL_ALIASES } from './models';
import { BUILTIN_FORBIDDEN_PATHS, CI_PROTECTED_PATHS, DEFAULT_DEPENDENCY_MANIFESTS } from './path-rules';
import { defaultTurns, StageTurns } from './turns';
import { ThinkingBudgets } from './thinking';

/**
 * The contract: what a run may do in a repository (SPEC §1, §2 boundary). It is read from
 * `.github/factory.yml` on the default branch and merged over safe defaults. The file format is
 * documented field by field in docs/factory-yml.md (factory-config.ts); this is the effective
 * contract, camelCase, snapshotted on the run at admit. Which paths it allows is path-rules.ts.
 */

export const DEFAULT_TRIGGER_LABEL = 'factory';

const ModelOverrides = z.strictObject({
  planner: z.array(z.string()).optional(),
  coder: z.array(z.string()).optional(),
  reviewer: z.array(z.string()).optional(),
  fast: z.array(z.string()).optional(),
});

export const Contract = z.strictObject({
  version: z.literal(1),
  triggerLabel: z.string(),
  /** A change may touch only paths matching one of these (or `ciPaths`). */
  allowedPaths: z.array(z.string()),
  /** Never changeable: the built-in list plus the config's `forbidden_paths`. */
  forbiddenPaths: z.array(z.string()),
  /** CI/infra/governance paths, forbidden unless matched by `ciPaths`. */
  ciProtectedPaths: z.array(z.string()),
  /** CI/infra paths the config explicitly opted in to (`allow_ci_changes: true`). */
  ciPaths: z.array(z.string()),
  maxFilesChanged: z.number().int().positive(),
  maxLinesChanged: z.number().int().positive(),
  /** UTF-8 bytes a change may add per file and in total (absent on runs admitted before: defaults). */
  maxFileBytes: z.number().int().positive().default(LIMITS.maxFileBytes.default),
  maxChangeBytes: z.number().int().positive().default(LIMITS.maxChangeBytes.default),
  maxFixAttempts: z.number().int().nonnegative(),
  dependencyPolicy: z.enum(['allow', 'forbid']),
  dependencyManifests: z.array(z.string()),
  requiredChecks: z.array(z.string()),
  approvers: z.array(z.object({ login: z.string(), email: z.string() })),
  budgetUsd: z.number().positive(),
  /** Model spend allowed per calendar month (UTC) across all runs of the repo; absent = no cap. */
  monthlyBudgetUsd: z.number().positive().optional(),
  /** Per-repo model overrides by alias; resolved against the deployment's defaults in models.ts. */
  models: ModelOverrides,
  timeouts: z.strictObject({
    clarifyDays: z.number().int().positive(),
    approvalHours: z.number().int().positive(),
    checksMinutes: z.number().int().positive(),
  }),
  /** Loud warnings for the approval email: permissions beyond the safe defaults. */
  riskyPermissions: z.array(z.string()),
  /** The sandbox: checks run before a change is submitted, network opt-in, command time cap. */
  environment: z
    .strictObject({
      image: z.string().optional(),
      setup: z.array(z.string()).default([]),
      checks: z.array(z.string()),
      network: z.boolean(),
      checkAttempts: z.number().int().positive(),
      maxRunSeconds: z.number().int().positive(),
    })
    .default({
      setup: [],
      checks: [],
      network: false,
      checkAttempts: LIMITS.checkAttempts.default,
      maxRunSeconds: LIMITS.maxRunSeconds.default,
    }),
  /** Model turns each agent stage may take; a stage out of turns stops with its work kept. */
  turns: StageTurns.default(defaultTurns),
  /** Extended thinking budgets the repository asks for by stage (capped at admit: thinking.ts). */
  thinking: ThinkingBudgets.default({}),
  /** A failed run's PR: closed (default; absent on runs admitted before it existed) or left a draft. */
  onFailure: z.enum(ON_FAILURE).default('close'),
  /** Failed checks' evidence longer than this is summarised by the `fast` alias first (0: never). */
  ciLogSummaryChars: z.number().int().nonnegative().default(LIMITS.ciLogSummaryChars.default),
});
export type Contract = z.infer<typeof Contract>;

const asList = (value: string | string[] | undefined): string[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value : [value];

const unique = (values: readonly string[]): string[] => [...new Set(values)];

/** The effective contract: the (validated) config merged over the safe defaults. */
export function contractFromConfig(config: FactoryConfig = {}): Contract {
  const ciPaths = config.allow_ci_changes === true ? unique(config.ci_paths ?? []) : [];
  const dependencyPolicy = config.dependencies?.policy ?? 'forbid';
  const models: Contract['models'] = {};
  for (const alias of MODEL_ALIASES) {
    const list = asList(config.models?.[alias]);
    if (list) models[alias] = list;
  }
  const riskyPermissions = [
    ...ciPaths.map((glob) => `may change CI/infrastructure files: ${glob}`),
    ...(dependencyPolicy === 'allow' ? ['may change dependency manifests and lock files'] : []),
    ...(config.environment?.network === true ? ["the agent's commands may reach the network"] : []),
  ];
  return {
    version: 1,
    triggerLabel: config.trigger_label ?? DEFAULT_TRIGGER_LABEL,
    allowedPaths: unique(config.allowed_paths ?? ['**']),
    forbiddenPaths: unique([...BUILTIN_FORBIDDEN_PATHS, ...(config.forbidden_paths ?? [])]),
    ciProtectedPaths: [...CI_PROTECTED_PATHS],
    ciPaths,
    maxFilesChanged: config.max_files_changed ?? LIMITS.maxFilesChanged.default,
    maxLinesChanged: config.max_lines_changed ?? LIMITS.maxLinesChanged.default,
    maxFileBytes: config.max_file_bytes ?? LIMITS.maxFileBytes.default,
    maxChangeBytes: config.max_change_bytes ?? LIMITS.maxChangeBytes.default,
    maxFixAttempts: config.max_fix_attempts ?? LIMITS.maxFixAttempts.default,
    dependencyPolicy,
    dependencyManifests: unique([...DEFAULT_DEPENDENCY_MANIFESTS, ...(config.dependencies?.manifests ?? [])]),
    requiredChecks: unique(config.required_checks ?? []),
    approvers: (config.approvers ?? []).map(({ login, email }) => ({ login, email })),
    budgetUsd: config.budget_usd ?? LIMITS.budgetUsd.default,
    ...(config.monthly_budget_usd === undefined ? {} : { monthlyBudgetUsd: config.monthly_budget_usd }),
    models,
    timeouts: {
      clarifyDays: config.timeouts?.clarify_days ?? LIMITS.clarifyDays.default,
      approvalHours: config.timeouts?.approval_hours ?? LIMITS.approvalHours.default,
      checksMinutes: config.timeouts?.checks_minutes ?? LIMITS.checksMinutes.default,
    },
    riskyPermissions,
    environment: {
      ...(config.environment?.image === undefined ? {} : { image: config.environment.image }),
      setup: config.environment?.setup ?? [],
      checks: config.environment?.checks ?? [],
      network: config.environment?.network ?? false,
      checkAttempts: config.environment?.check_attempts ?? LIMITS.checkAttempts.default,
      maxRunSeconds: config.environment?.max_run_seconds ?? LIMITS.maxRunSeconds.default,
    },
    turns: {
      plan: config.limits?.turns?.plan ?? LIMITS.turns.plan.default,
      implement: config.limits?.turns?.implement ?? LIMITS.turns.implement.default,
      review: config.limits?.turns?.review ?? LIMITS.turns.review.default,
    },
    thinking: { ...config.thinking },
    onFailure: config.on_failure ?? 'close',
    ciLogSummaryChars: config.limits?.ci_log_summary_chars ?? LIMITS.ciLogSummaryChars.default,
  };
}

/** The contract of a repository without `.github/factory.yml`. */
export const defaultContract = (): Contract => contractFromConfig({});

export type ParseResult =
  | { ok: true; contract: Contract; summary: string }
  | { ok: false; errors: ConfigProblem[] };

/**
 * Validates the text of a `.github/factory.yml` and gives the contract it makes. Never throws:
 * every problem comes back as an error with its field path (factory-config-yaml.ts).
 */
export function parseFactoryConfig(text: string): ParseResult {
  try {
    const read = readFactoryConfig(text);
    if (!read.ok) return read;
    const contract = contractFromConfig(read.config);
    return { ok: true, contract, summary: summarizeContract(contract) };
  } catch (error) {
    // A bug here must still be a refusal, never a crash nor an accepted config.
    const name = error instanceof Error ? error.name : 'Error';
    return { ok: false, errors: [{ path: '(file)', message: `could not be checked (${name})` }] };
  }
}

/** One line describing the effective contract (the CLI prints it; the admit comment can too). */
export function summarizeContract(contract: Contract): string {
  const allowed =
    contract.allowedPaths.length === 1 && contract.allowedPaths[0] === '**'
      ? 'all paths'
      : `paths ${contract.allowedPaths.join(', ')}`;
  const parts = [
    `label '${contract.triggerLabel}'`,
    `${allowed} except ${contract.forbiddenPaths.length} forbidden globs`,
    `≤ ${contract.maxFilesChanged} files / ${contract.maxLinesChanged} lines`,
    `dependencies ${contract.dependencyPolicy === 'allow' ? 'allowed' : 'forbidden'}`,
    `${contract.maxFixAttempts} fix attempts`,
    `budget $${contract.budgetUsd.toFixed(2)}/run${contract.monthlyBudgetUsd ? `, $${contract.monthlyBudgetUsd.toFixed(2)}/month` : ''}`,
    `${contract.approvers.length} approver${contract.approvers.length === 1 ? '' : 's'}`,
    `${contract.requiredChecks.length} required check${contract.requiredChecks.length === 1 ? '' : 's'}`,
    contract.riskyPermissions.length
      ? `RISKY: ${contract.riskyPermissions.join('; ')}`
      : 'CI/infra changes forbidden',
  ];
  return parts.join(', ');
}
