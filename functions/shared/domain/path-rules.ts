import type { Contract } from './contract';
import { lookalikeFold, lookalikeFoldGlob } from './lookalike';
import { firstMatchNoCase, globMatches, matchesAny, pathProblem } from './paths';

/**
 * Which paths a run may change: the built-in lists no config can shorten, and the decision for one
 * path under a contract (contract.ts). docs/factory-yml.md lists the same globs.
 */

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
