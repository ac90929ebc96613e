import { type CST, Composer, isMap, isScalar, isSeq, LineCounter, type Node, Parser } from 'yaml';
import * as z from 'zod';
import { customIssue } from './custom-issue';
import { lookalikeFold, lookalikeFoldGlob } from './lookalike';
import { MODEL_ALIASES, ModelId } from './models';
import { ThinkingBudget, ThinkingBudgets } from './thinking';
import {
  firstMatchNoCase,
  globAlternatives,
  globMatches,
  globProblem,
  matchesAny,
  pathProblem,
} from './paths';
import { defaultTurns, StageTurns, TURN_LIMITS } from './turns';

/**
 * The contract: what a run may do in a repository (SPEC §1, §2 boundary). It is read from
 * `.github/factory.yml` on the default branch and merged over safe defaults. The file format is
 * documented field by field in docs/factory-yml.md; keep the two in step.
 */

// ---------------------------------------------------------------------------------------------
// Built-in rules
// ---------------------------------------------------------------------------------------------

/** The factory's own configuration: never changeable by a run, whatever the config says. */
export const FACTORY_CONFIG_PATHS = ['.github/factory.yml', '.github/factory.yaml'] as const;

/** Always forbidden, not removable by the config: the factory config, git internals, secrets. */
export const BUILTIN_FORBIDDEN_PATHS: readonly string[] = [
  ...FACTORY_CONFIG_PATHS,
  '.git/**',
  '**/.git/**',
  '**/.env',
  '**/.env.*',
  '**/*.pem',
  '**/*.key',
  '**/*.p12',
  '**/*.pfx',
  '**/id_rsa',
  '**/id_dsa',
  '**/id_ecdsa',
  '**/id_ed25519',
  '**/.npmrc',
  '**/.pypirc',
];

/**
 * Paths protected by default: CI, build infrastructure and governance (code that runs with the
 * repository's secrets or decides who reviews), and the settings that change what git or a package
 * manager does (attributes and filters, submodule URLs, registries, install hooks, wrappers).
 * Forbidden unless the config opts in with `allow_ci_changes: true` and names the paths in
 * `ci_paths`; the contract then lists them in `riskyPermissions`.
 */
export const CI_PROTECTED_PATHS: readonly string[] = [
  // All of .github (workflows, actions, CODEOWNERS, dependabot, templates, settings apps), not only workflows.
  '.github/**',
  'CODEOWNERS',
  'docs/CODEOWNERS',
  '.gitlab-ci.yml',
  '.gitlab/**',
  '.circleci/**',
  '**/Jenkinsfile',
  '.travis.yml',
  'azure-pipelines.yml',
  '.azure-pipelines/**',
  'bitbucket-pipelines.yml',
  '.buildkite/**',
  '.drone.yml',
  '**/Dockerfile',
  '**/Dockerfile.*',
  '**/*.dockerfile',
  '**/docker-compose*.yml',
  '**/docker-compose*.yaml',
  '**/compose.yml',
  '**/compose.yaml',
  '.devcontainer/**',
  '.husky/**',
  '.githooks/**',
  '.pre-commit-config.yaml',
  'infra/**',
  'terraform/**',
  '**/*.tf',
  '**/*.tfvars',
  // git: filters and diff drivers, submodule URLs, LFS endpoints.
  '**/.gitattributes',
  '**/.gitmodules',
  '**/.lfsconfig',
  // Package managers: registries, install hooks and the binaries they run.
  '**/.yarnrc',
  '**/.yarnrc.yml',
  '**/.yarn/releases/**',
  '**/.yarn/plugins/**',
  '**/.pnpmfile.cjs',
  '**/.pnpmfile.mjs',
  '**/bunfig.toml',
  '**/pip.conf',
  '**/pip.ini',
  '**/.condarc',
  '**/.cargo/config',
  '**/.cargo/config.toml',
  '**/.bundle/config',
  '**/.gemrc',
  '**/nuget.config',
  '**/.mvn/**',
  '**/gradle/wrapper/**',
  '**/gradle.properties',
  '**/.gradle/**',
];

/** Dependency manifests and lock files (matched case-insensitively, at any depth). */
export const DEFAULT_DEPENDENCY_MANIFESTS: readonly string[] = [
  '**/package.json',
  '**/package-lock.json',
  '**/npm-shrinkwrap.json',
  '**/yarn.lock',
  '**/pnpm-lock.yaml',
  '**/pnpm-workspace.yaml',
  '**/bun.lock',
  '**/bun.lockb',
  '**/requirements*.txt',
  '**/constraints*.txt',
  '**/Pipfile',
  '**/Pipfile.lock',
  '**/pyproject.toml',
  '**/poetry.lock',
  '**/uv.lock',
  '**/setup.py',
  '**/setup.cfg',
  '**/go.mod',
  '**/go.sum',
  '**/Cargo.toml',
  '**/Cargo.lock',
  '**/Gemfile',
  '**/Gemfile.lock',
  '**/*.gemspec',
  '**/composer.json',
  '**/composer.lock',
  '**/pom.xml',
  '**/build.gradle',
  '**/build.gradle.kts',
  '**/gradle.lockfile',
  '**/*.csproj',
  '**/packages.lock.json',
  '**/Package.swift',
  '**/Package.resolved',
  '**/mix.exs',
  '**/mix.lock',
];

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

export const DEFAULT_TRIGGER_LABEL = 'factory';

/**
 * What a failed change run does with its pull request: `close` it (and delete its branch, as a
 * rejection does), or leave it open as a `draft` (branch kept) for a person to pick up.
 */
export const ON_FAILURE = ['close', 'draft'] as const;
export type OnFailure = (typeof ON_FAILURE)[number];

// ---------------------------------------------------------------------------------------------
// The file's schema (snake_case, as written in YAML). Strict: unknown keys are errors.
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// The effective contract (camelCase; snapshotted on the run at admit)
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Path decisions
// ---------------------------------------------------------------------------------------------

export type PathRule =
  | 'invalid-path'
  | 'factory-config'
  | 'forbidden-path'
  | 'ci-path'
  | 'lookalike-path'
  | 'not-allowed-path';
export type PathDecision = { allowed: true } | { allowed: false; rule: PathRule; reason: string };

const isFactoryConfig = (path: string): boolean =>
  FACTORY_CONFIG_PATHS.some((config) => config === path.toLowerCase());

/**
 * May a run change `path`? The built-in forbidden and CI lists are applied whatever the
 * contract object says, so a tampered or stale snapshot cannot widen them.
 */
export function decidePath(contract: Contract, path: string): PathDecision {
  const problem = pathProblem(path);
  if (problem) return { allowed: false, rule: 'invalid-path', reason: `path ${problem}` };
  if (isFactoryConfig(path)) {
    return { allowed: false, rule: 'factory-config', reason: 'the factory config is always forbidden' };
  }
  const forbidden = firstMatchNoCase(path, [...BUILTIN_FORBIDDEN_PATHS, ...contract.forbiddenPaths]);
  if (forbidden) return { allowed: false, rule: 'forbidden-path', reason: `forbidden by '${forbidden}'` };
  const optedIn = matchesAny(path, contract.ciPaths);
  const ci = firstMatchNoCase(path, [...CI_PROTECTED_PATHS, ...contract.ciProtectedPaths]);
  if (ci && !optedIn) {
    return {
      allowed: false,
      rule: 'ci-path',
      reason: `protected by default ('${ci}': CI, infrastructure, git or package-manager settings); forbidden unless the config opts in with allow_ci_changes and ci_paths`,
    };
  }
  const imitated = protectedLookalike(contract, path, !optedIn);
  if (imitated) {
    return {
      allowed: false,
      rule: 'lookalike-path',
      reason: `looks like a protected path ('${imitated}') spelled with look-alike characters; use the real name or another one`,
    };
  }
  if (!optedIn && !matchesAny(path, contract.allowedPaths)) {
    return { allowed: false, rule: 'not-allowed-path', reason: 'not matched by any allowed_paths glob' };
  }
  return { allowed: true };
}

/**
 * The protected glob (factory config, forbidden or, unless opted in, CI list) that `path` imitates: the two match
 * once both are folded by their UTS #39 skeleton (domain/lookalike.ts), e.g. `.gіthub/workflows/x.yml`
 * with a Cyrillic `і`. Called only for paths the plain globs did not match.
 */
function protectedLookalike(contract: Contract, path: string, withCi: boolean): string | undefined {
  const folded = path.split('/').map(lookalikeFold).join('/');
  const globs = [
    ...FACTORY_CONFIG_PATHS,
    ...BUILTIN_FORBIDDEN_PATHS,
    ...contract.forbiddenPaths,
    // A path the config opted in to may look like another CI path; never like a forbidden one.
    ...(withCi ? [...CI_PROTECTED_PATHS, ...contract.ciProtectedPaths] : []),
  ];
  return globs.find((glob) => globMatches(foldedGlob(glob), folded, true));
}

const foldedGlobs = new Map<string, string>();
function foldedGlob(glob: string): string {
  let folded = foldedGlobs.get(glob);
  if (folded === undefined) {
    if (foldedGlobs.size >= 2000) foldedGlobs.clear();
    folded = lookalikeFoldGlob(glob);
    foldedGlobs.set(glob, folded);
  }
  return folded;
}

export const isPathAllowed = (contract: Contract, path: string): boolean =>
  decidePath(contract, path).allowed;

/** True when `path` is a dependency manifest or lock file under this contract. */
export const isDependencyManifest = (contract: Contract, path: string): boolean =>
  firstMatchNoCase(path, contract.dependencyManifests) !== undefined;

// ---------------------------------------------------------------------------------------------
// Parsing `.github/factory.yml`
// ---------------------------------------------------------------------------------------------

export interface ConfigProblem {
  /** `path.to.field` with `[i]` for list items; `(file)` for problems of the whole file. */
  path: string;
  message: string;
  line?: number;
  col?: number;
}

export type ParseResult =
  | { ok: true; contract: Contract; summary: string }
  | { ok: false; errors: ConfigProblem[] };

const MAX_REPORTED_PROBLEMS = 100;

export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out || '(file)';
}

/** The YAML node (key node for a mapping entry) at `path`, for line and column. */
function nodeAt(root: unknown, path: readonly PropertyKey[]): Node | undefined {
  let node = root as Node | undefined;
  let located: Node | undefined = node;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) return located;
      located = (isScalar(pair.key) ? pair.key : undefined) ?? located;
      node = pair.value as Node | undefined;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment] as Node | undefined;
      located = node ?? located;
    } else {
      return located;
    }
  }
  return located;
}

/** True when CST collections nest deeper than `limit`. Iterative, linear in the number of tokens. */
function nestingDepthExceeds(tokens: readonly CST.Token[], limit: number): boolean {
  const stack: Array<{ token: unknown; depth: number }> = tokens.map((token) => ({ token, depth: 0 }));
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (!token || typeof token !== 'object') continue;
    const { items, value } = token as { items?: unknown; value?: unknown };
    if (Array.isArray(items)) {
      if (depth + 1 > limit) return true;
      for (const item of items as Array<{ key?: unknown; value?: unknown }>) {
        if (item?.key) stack.push({ token: item.key, depth: depth + 1 });
        if (item?.value) stack.push({ token: item.value, depth: depth + 1 });
      }
    } else if (value && typeof value === 'object') {
      stack.push({ token: value, depth });
    }
  }
  return false;
}

/**
 * Validates the text of a `.github/factory.yml`. Never throws: every problem (size, YAML syntax
 * with line and column, YAML bombs, multiple documents, wrong types, unknown keys, limits, attempts
 * to allow the factory config) comes back as an error with its field path.
 */
export function parseFactoryConfig(text: string): ParseResult {
  try {
    return parseUnsafe(text);
  } catch (error) {
    // A bug here must still be a refusal, never a crash nor an accepted config.
    const name = error instanceof Error ? error.name : 'Error';
    return { ok: false, errors: [{ path: '(file)', message: `could not be checked (${name})` }] };
  }
}

function parseUnsafe(source: string): ParseResult {
  const fail = (problems: ConfigProblem[]): ParseResult => ({
    ok: false,
    errors: problems.slice(0, MAX_REPORTED_PROBLEMS),
  });
  if (typeof source !== 'string') return fail([{ path: '(file)', message: 'must be text' }]);
  // Cheap check first: a string has at least as many UTF-8 bytes as UTF-16 code units.
  const bytes = source.length > LIMITS.fileBytes ? source.length : Buffer.byteLength(source, 'utf8');
  if (bytes > LIMITS.fileBytes) {
    return fail([
      {
        path: '(file)',
        message: `is too large (at least ${bytes} bytes); the limit is ${LIMITS.fileBytes} bytes (64 KiB)`,
      },
    ]);
  }
  const text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  const lineCounter = new LineCounter();
  // Parse to the CST first (an iterative parser), refuse deep nesting, and only then compose:
  // yaml's composer recurses once per level, and thousands of levels can kill the process.
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  if (nestingDepthExceeds(tokens, LIMITS.nestingDepth)) {
    return fail([
      { path: '(file)', message: `nests lists or mappings more than ${LIMITS.nestingDepth} levels deep` },
    ]);
  }
  // resolveKnownTags: false keeps YAML 1.1 extras (!!set, !!omap, !!binary, !!timestamp) out: they would
  // become Sets, Maps and Buffers that a schema for plain objects cannot see into.
  const composer = new Composer({
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
    version: '1.2',
    resolveKnownTags: false,
  });
  const documents = Array.from(composer.compose(tokens, false, text.length));
  if (documents.length > 1) {
    return fail([
      { path: '(file)', message: 'must hold exactly one YAML document (found more than one ---)' },
    ]);
  }
  const document = documents[0];
  let value: unknown = {};
  if (document) {
    const syntax = [...document.errors, ...document.warnings].map((problem): ConfigProblem => {
      const at = lineCounter.linePos(problem.pos[0]);
      const tag = /^Unresolved tag: (.+)$/.exec(problem.message)?.[1];
      const message = tag
        ? `YAML tags such as ${tag.replace('tag:yaml.org,2002:', '!!')} are not supported: write plain values`
        : problem.message;
      return { path: '(yaml)', message, line: at.line, col: at.col };
    });
    if (syntax.length > 0) return fail(syntax);
    const contents = document.contents;
    const isEmpty = contents === null || (isScalar(contents) && contents.value === null);
    if (!isEmpty) {
      if (!isMap(contents)) {
        const kind = isSeq(contents) ? 'a list' : 'a single value';
        return fail([{ path: '(file)', message: `must be a mapping of settings (key: value), not ${kind}` }]);
      }
      try {
        value = document.toJS({ maxAliasCount: LIMITS.aliasCount });
      } catch (error) {
        const message =
          error instanceof Error && /alias count/i.test(error.message)
            ? `uses too many YAML aliases (anchor expansion is limited to ${LIMITS.aliasCount}); write the values out`
            : error instanceof Error && /alias/i.test(error.message)
              ? 'has an unresolved YAML alias (an *alias without its &anchor)'
              : 'could not be read as YAML data';
        return fail([{ path: '(file)', message }]);
      }
    }
  }
  const parsed = FactoryConfig.safeParse(value);
  if (!parsed.success) {
    const problems: ConfigProblem[] = [];
    const seen = new Set<string>();
    for (const issue of parsed.error.issues) {
      const paths =
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => [...issue.path, key])
          : [issue.path as PropertyKey[]];
      for (const path of paths) {
        const message =
          issue.code === 'unrecognized_keys'
            ? 'is not a known setting (see docs/factory-yml.md)'
            : issue.message;
        const key = `${formatFieldPath(path)}\u0000${message}`;
        if (seen.has(key)) continue; // one field failing several checks with the same message
        seen.add(key);
        const node = document ? nodeAt(document.contents, path) : undefined;
        const at = node?.range ? lineCounter.linePos(node.range[0]) : undefined;
        problems.push({
          path: formatFieldPath(path),
          message,
          ...(at ? { line: at.line, col: at.col } : {}),
        });
      }
    }
    // File order reads best; problems without a position keep their relative order at the end.
    const position = (p: ConfigProblem) => (p.line ?? Number.MAX_SAFE_INTEGER) * 1e6 + (p.col ?? 0);
    return fail(problems.sort((a, b) => position(a) - position(b)));
  }
  const contract = contractFromConfig(parsed.data);
  return { ok: true, contract, summary: summarizeContract(contract) };
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
