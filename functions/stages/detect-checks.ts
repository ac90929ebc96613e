/**
 * Default sandbox checks for a repository whose `.github/factory.yml` declares neither
 * `environment.setup` nor `environment.checks` (issue 16), read from its root: a real
 * `scripts.test` in package.json (npm's placeholder is not one) with the lock file's install,
 * Python with pytest or a tests directory, go.mod, Cargo.toml. Pure: the caller reads the files.
 */

/** The root files detection reads (their contents, when present). */
export const DETECTION_FILES = [
  'package.json',
  'pyproject.toml',
  'setup.py',
  'setup.cfg',
  'tox.ini',
  'pytest.ini',
  'go.mod',
  'Cargo.toml',
] as const;

export interface RepoRoot {
  /** Contents of the DETECTION_FILES present at the root. */
  files: Partial<Record<(typeof DETECTION_FILES)[number], string>>;
  /** Names of the root's entries (files and directories). */
  names: ReadonlySet<string>;
}

export interface DetectedEnvironment {
  setup: string[];
  checks: string[];
  /** Which files decided, for the event and the model. */
  from: string[];
}

/** `npm init`'s placeholder, which always fails. */
const NPM_PLACEHOLDER = /no test specified/;

function npmTestScript(packageJson: string | undefined): string | undefined {
  if (packageJson === undefined) return undefined;
  try {
    const parsed = JSON.parse(packageJson) as { scripts?: Record<string, unknown> };
    const test = parsed?.scripts?.test;
    return typeof test === 'string' && test.trim() !== '' && !NPM_PLACEHOLDER.test(test) ? test : undefined;
  } catch {
    return undefined;
  }
}

function nodeInstall(names: ReadonlySet<string>): { command: string; from: string } | undefined {
  if (names.has('package-lock.json')) return { command: 'npm ci', from: 'package-lock.json' };
  if (names.has('yarn.lock')) return { command: 'yarn install --frozen-lockfile', from: 'yarn.lock' };
  if (names.has('pnpm-lock.yaml'))
    return { command: 'pnpm install --frozen-lockfile', from: 'pnpm-lock.yaml' };
  return undefined;
}

function hasPythonTests({ files, names }: RepoRoot): boolean {
  if (files['pyproject.toml'] === undefined && files['setup.py'] === undefined) return false;
  if (['tests', 'test', 'conftest.py', 'pytest.ini'].some((name) => names.has(name))) return true;
  return (['pyproject.toml', 'setup.py', 'setup.cfg', 'tox.ini'] as const).some((name) =>
    /pytest/.test(files[name] ?? ''),
  );
}

/** The default environment for a repository root, or undefined when nothing is recognised. */
export function detectEnvironment(root: RepoRoot): DetectedEnvironment | undefined {
  const setup: string[] = [];
  const checks: string[] = [];
  const from: string[] = [];
  if (npmTestScript(root.files['package.json']) !== undefined) {
    const install = nodeInstall(root.names);
    if (install) {
      setup.push(install.command);
      from.push(install.from);
    }
    checks.push('npm test');
    from.push('package.json');
  }
  if (hasPythonTests(root)) {
    // python3, not python: Debian and Ubuntu ship no `python` unless python-is-python3 is installed,
    // and every venv, pyenv and official image has python3 too.
    checks.push('python3 -m pytest -q');
    from.push(root.files['pyproject.toml'] !== undefined ? 'pyproject.toml' : 'setup.py');
  }
  if (root.files['go.mod'] !== undefined) {
    checks.push('go test ./...');
    from.push('go.mod');
  }
  if (root.files['Cargo.toml'] !== undefined) {
    checks.push('cargo test');
    from.push('Cargo.toml');
  }
  return checks.length > 0 ? { setup, checks, from } : undefined;
}
