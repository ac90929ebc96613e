import * as z from 'zod';
import { customIssue } from './custom-issue';
import { ModelId } from './models';
import { FACTORY_CONFIG_PATHS } from './path-rules';
import { globAlternatives, globMatches, globProblem } from './paths';
import { ThinkingBudget } from './thinking';
import { TURN_LIMITS } from './turns';

/**
 * The format of `.github/factory.yml` (snake_case, as written in YAML), field by field as
 * docs/factory-yml.md documents it; keep the two in step. Strict: unknown keys are errors.
 * Reading the YAML is factory-config-yaml.ts; the contract it becomes is contract.ts.
 */

/** Limits of the config file and of every field (docs/factory-yml.md lists the same). */
export const LIMITS = {
  fileBytes: 64 * 1024,
  aliasCount: 16,
  /** Collections nested deeper than this are refused before composing (yaml recurses per level). */
  nestingDepth: 32,
  globs: 100,
  maxFilesChanged: { min: 1, max: 1000, default: 25 },
  maxLinesChanged: { min: 1, max: 50_000, default: 1000 },
  /** Bytes a change may add to one file (the workspace holds files up to 256 KiB), and in total. */
  maxFileBytes: { min: 1024, max: 1024 * 1024, default: 128 * 1024 },
  maxChangeBytes: { min: 1024, max: 100 * 1024 * 1024, default: 1024 * 1024 },
  maxFixAttempts: { min: 0, max: 10, default: 3 },
  budgetUsd: { min: 0.01, max: 500, default: 5 },
  monthlyBudgetUsd: { min: 0.01, max: 100_000 },
  clarifyDays: { min: 1, max: 30, default: 7 },
  approvalHours: { min: 1, max: 720, default: 72 },
  checksMinutes: { min: 5, max: 1440, default: 60 },
  requiredChecks: 50,
  approvers: 20,
  checkCommands: 10,
  commandChars: 2000,
  checkAttempts: { min: 1, max: 5, default: 2 },
  maxRunSeconds: { min: 10, max: 900, default: 600 },
  modelsPerAlias: 5,
  /** Model turns (calls) per agent stage (turns.ts). */
  turns: TURN_LIMITS,
  /** Failed checks' evidence longer than this is summarised by the `fast` alias (0: never). */
  ciLogSummaryChars: { min: 0, max: 10_000_000, default: 20_000 },
} as const;

/**
 * What a failed change run does with its pull request: `close` it (and delete its branch, as a
 * rejection does), or leave it open as a `draft` (branch kept) for a person to pick up.
 */
export const ON_FAILURE = ['close', 'draft'] as const;
export type OnFailure = (typeof ON_FAILURE)[number];

const describe = (input: unknown): string => {
  if (input === undefined) return 'nothing';
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'number' && !Number.isFinite(input)) return String(input);
  return typeof input;
};

const intInRange = (range: { min: number; max: number }) => {
  const message = `must be a whole number from ${range.min} to ${range.max}`;
  return z
    .number({ error: (issue) => `${message}, got ${describe(issue.input)}` })
    .int({ error: message })
    .min(range.min, { error: message })
    .max(range.max, { error: message });
};

const usdInRange = (range: { min: number; max: number }) => {
  const message = `must be an amount in USD from ${range.min} to ${range.max}`;
  return z
    .number({ error: (issue) => `${message}, got ${describe(issue.input)}` })
    .min(range.min, { error: message })
    .max(range.max, { error: message });
};

const text = (what: string) =>
  z.string({ error: (issue) => `must be ${what}, got ${describe(issue.input)}` });

const Glob = text('a path glob').superRefine((glob, ctx) => {
  const problem = globProblem(glob);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const globList = (min = 0) =>
  z
    .array(Glob, { error: (issue) => `must be a list of path globs, got ${describe(issue.input)}` })
    .min(min, { error: `must list at least ${min} path glob${min === 1 ? '' : 's'}` })
    .max(LIMITS.globs, { error: `must list at most ${LIMITS.globs} globs` });

// GitHub label names: up to 50 characters, printable.
const Label = text('a label name').regex(/^[^\p{Cc}\p{Cf}]{1,50}$/u, {
  error: 'must be a label name of 1 to 50 printable characters',
});

const CheckName = text('a check name').regex(/^[^\p{Cc}\p{Cf}]{1,100}$/u, {
  error: 'must be a check name of 1 to 100 printable characters',
});

// GitHub logins: alphanumerics and single inner hyphens, up to 39 characters.
const Login = text('a GitHub login').regex(/^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/, {
  error: 'must be a GitHub login (letters, digits and single hyphens, at most 39 characters)',
});

const Approver = z.strictObject(
  {
    login: Login,
    email: z.email({ error: 'must be an email address' }).max(254, { error: 'must be an email address' }),
  },
  { error: (issue) => `must be a mapping with login and email, got ${describe(issue.input)}` },
);

const Command = text('a shell command').regex(/^[^\0]{1,2000}$/, {
  error: `must be a shell command of 1 to ${LIMITS.commandChars} characters`,
});

const ModelList = z.union(
  [
    ModelId,
    z
      .array(ModelId)
      .min(1, { error: 'must list at least one model id' })
      .max(LIMITS.modelsPerAlias, { error: `must list at most ${LIMITS.modelsPerAlias} model ids` }),
  ],
  { error: 'must be a model id or a list of model ids (first preferred, then fallbacks)' },
);

const section = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.strictObject(shape, { error: (issue) => `must be a mapping, got ${describe(issue.input)}` });

export const FactoryConfig = section({
  version: z.literal(1, { error: 'must be 1 (the only version of this file format)' }).optional(),
  trigger_label: Label.optional(),
  allowed_paths: globList(1).optional(),
  forbidden_paths: globList().optional(),
  max_files_changed: intInRange(LIMITS.maxFilesChanged).optional(),
  max_lines_changed: intInRange(LIMITS.maxLinesChanged).optional(),
  max_file_bytes: intInRange(LIMITS.maxFileBytes).optional(),
  max_change_bytes: intInRange(LIMITS.maxChangeBytes).optional(),
  max_fix_attempts: intInRange(LIMITS.maxFixAttempts).optional(),
  dependencies: section({
    policy: z.enum(['allow', 'forbid'], { error: "must be 'allow' or 'forbid'" }).optional(),
    manifests: globList().optional(),
  }).optional(),
  allow_ci_changes: z.boolean({ error: 'must be true or false' }).optional(),
  ci_paths: globList().optional(),
  required_checks: z
    .array(CheckName, { error: (issue) => `must be a list of check names, got ${describe(issue.input)}` })
    .max(LIMITS.requiredChecks, { error: `must list at most ${LIMITS.requiredChecks} checks` })
    .optional(),
  approvers: z
    .array(Approver, { error: (issue) => `must be a list of approvers, got ${describe(issue.input)}` })
    .max(LIMITS.approvers, { error: `must list at most ${LIMITS.approvers} approvers` })
    .optional(),
  budget_usd: usdInRange(LIMITS.budgetUsd).optional(),
  monthly_budget_usd: usdInRange(LIMITS.monthlyBudgetUsd).optional(),
  models: section({
    planner: ModelList.optional(),
    coder: ModelList.optional(),
    reviewer: ModelList.optional(),
    fast: ModelList.optional(),
  }).optional(),
  timeouts: section({
    clarify_days: intInRange(LIMITS.clarifyDays).optional(),
    approval_hours: intInRange(LIMITS.approvalHours).optional(),
    checks_minutes: intInRange(LIMITS.checksMinutes).optional(),
  }).optional(),
  environment: section({
    image: text('a container image name')
      .regex(/^[^\s\0]{1,200}$/, { error: 'must be an image name of 1 to 200 characters without spaces' })
      .optional(),
    setup: z
      .array(Command, { error: (issue) => `must be a list of shell commands, got ${describe(issue.input)}` })
      .max(LIMITS.checkCommands, { error: `must list at most ${LIMITS.checkCommands} commands` })
      .optional(),
    checks: z
      .array(Command, { error: (issue) => `must be a list of shell commands, got ${describe(issue.input)}` })
      .max(LIMITS.checkCommands, { error: `must list at most ${LIMITS.checkCommands} commands` })
      .optional(),
    network: z.boolean({ error: 'must be true or false' }).optional(),
    check_attempts: intInRange(LIMITS.checkAttempts).optional(),
    max_run_seconds: intInRange(LIMITS.maxRunSeconds).optional(),
  }).optional(),
  thinking: section({
    plan: ThinkingBudget.optional(),
    implement: ThinkingBudget.optional(),
    review: ThinkingBudget.optional(),
  }).optional(),
  limits: section({
    turns: section({
      plan: intInRange(LIMITS.turns.plan).optional(),
      implement: intInRange(LIMITS.turns.implement).optional(),
      review: intInRange(LIMITS.turns.review).optional(),
    }).optional(),
    ci_log_summary_chars: intInRange(LIMITS.ciLogSummaryChars).optional(),
  }).optional(),
  on_failure: z.enum(ON_FAILURE, { error: "must be 'close' or 'draft'" }).optional(),
}).superRefine((config, ctx) => {
  const refuseFactoryConfig = (key: 'allowed_paths' | 'ci_paths') => {
    (config[key] ?? []).forEach((glob, index) => {
      if (singlesOutFactoryConfig(glob))
        customIssue(
          ctx,
          [key, index],
          `the factory config (${FACTORY_CONFIG_PATHS.join(', ')}) is always forbidden and cannot be allowed`,
        );
    });
  };
  refuseFactoryConfig('allowed_paths');
  refuseFactoryConfig('ci_paths');
  if (config.allow_ci_changes === true && !config.ci_paths?.length)
    customIssue(
      ctx,
      ['ci_paths'],
      'allow_ci_changes: true needs ci_paths listing the CI/infra paths a run may change',
    );
  if (config.allow_ci_changes !== true && config.ci_paths?.length)
    customIssue(
      ctx,
      ['ci_paths'],
      'ci_paths only takes effect with allow_ci_changes: true; set it to opt in explicitly',
    );
  const seen = new Set<string>();
  (config.approvers ?? []).forEach((approver, index) => {
    const login = approver.login.toLowerCase();
    if (seen.has(login)) customIssue(ctx, ['approvers', index, 'login'], 'is listed twice');
    seen.add(login);
  });
});
export type FactoryConfig = z.infer<typeof FactoryConfig>;

/**
 * True when `glob`, or any of its brace alternatives, deliberately targets the factory config: it
 * matches the config but not ordinary neighbours. Broad globs such as `**` or `.github/**` are
 * fine; the config stays forbidden under them anyway. Alternatives are judged one by one, so a
 * broad alternative cannot hide a targeted one (`{.github/factory.yml,**}`).
 */
export function singlesOutFactoryConfig(glob: string): boolean {
  const neighbours = ['.github/zz-neighbour.yml', '.github/zz-neighbour/file.txt', 'zz-neighbour.yml'];
  return globAlternatives(glob).some(
    (alternative) =>
      FACTORY_CONFIG_PATHS.some((path) => globMatches(alternative, path, true)) &&
      !neighbours.some((path) => globMatches(alternative, path, true)),
  );
}
