import { describe, expect, it } from 'vitest';
import {
  Contract,
  contractFromConfig,
  defaultContract,
  type ParseResult,
  parseFactoryConfig,
} from '../../../functions/shared/domain/contract';
import { LIMITS, singlesOutFactoryConfig } from '../../../functions/shared/domain/factory-config';
import type { ConfigProblem } from '../../../functions/shared/domain/factory-config-yaml';
import { decidePath, isDependencyManifest, isPathAllowed } from '../../../functions/shared/domain/path-rules';
import { globProblem, pathProblem } from '../../../functions/shared/domain/paths';

function errorsOf(result: ParseResult): ConfigProblem[] {
  if (result.ok) throw new Error(`expected errors, got a valid contract: ${result.summary}`);
  return result.errors;
}
const contractOf = (text: string): Contract => {
  const result = parseFactoryConfig(text);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.contract;
};
const paths = (result: ParseResult) => errorsOf(result).map((e) => e.path);

const FULL = `
version: 1
trigger_label: ai-please
allowed_paths:
  - src/**
  - test/**
forbidden_paths:
  - src/generated/**
max_files_changed: 10
max_lines_changed: 400
max_file_bytes: 65536
max_change_bytes: 262144
max_fix_attempts: 2
dependencies:
  policy: allow
  manifests: ['**/deps.edn']
allow_ci_changes: true
ci_paths:
  - .github/workflows/test.yml
required_checks: [ 'ci / test', lint ]
approvers:
  - login: alice
    email: alice@example.com
budget_usd: 2.5
models:
  planner: claude-opus-4-6
  coder: [claude-sonnet-4-6, claude-sonnet-4-5]
timeouts:
  clarify_days: 3
  approval_hours: 24
  checks_minutes: 30
`;

describe('parseFactoryConfig: valid files', () => {
  it('gives the safe defaults for an empty file or a comment-only file', () => {
    for (const text of ['', '   \n', '# nothing here\n', '---\n']) {
      const result = parseFactoryConfig(text);
      expect(result.ok, JSON.stringify(text)).toBe(true);
      if (!result.ok) continue;
      expect(result.contract).toEqual(defaultContract());
    }
    const d = defaultContract();
    expect(d.triggerLabel).toBe('factory');
    expect(d.allowedPaths).toEqual(['**']);
    expect(d.dependencyPolicy).toBe('forbid');
    expect(d.ciPaths).toEqual([]);
    expect(d.riskyPermissions).toEqual([]);
    expect(d.budgetUsd).toBe(LIMITS.budgetUsd.default);
    expect(d.maxFixAttempts).toBe(3);
    expect([d.maxFileBytes, d.maxChangeBytes]).toEqual([128 * 1024, 1024 * 1024]);
    expect(d.timeouts).toEqual({ clarifyDays: 7, approvalHours: 72, checksMinutes: 60 });
    expect(Contract.safeParse(d).success).toBe(true);
  });

  it('merges every field over the defaults and flags the risky ones', () => {
    const result = parseFactoryConfig(FULL);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const c = result.contract;
    expect(c.triggerLabel).toBe('ai-please');
    expect(c.allowedPaths).toEqual(['src/**', 'test/**']);
    expect(c.forbiddenPaths).toContain('src/generated/**');
    expect(c.forbiddenPaths).toContain('.github/factory.yml');
    expect([c.maxFilesChanged, c.maxLinesChanged, c.maxFixAttempts]).toEqual([10, 400, 2]);
    expect([c.maxFileBytes, c.maxChangeBytes]).toEqual([65536, 262144]);
    expect(c.dependencyPolicy).toBe('allow');
    expect(c.dependencyManifests).toContain('**/deps.edn');
    expect(c.dependencyManifests).toContain('**/package.json');
    expect(c.ciPaths).toEqual(['.github/workflows/test.yml']);
    expect(c.requiredChecks).toEqual(['ci / test', 'lint']);
    expect(c.approvers).toEqual([{ login: 'alice', email: 'alice@example.com' }]);
    expect(c.budgetUsd).toBe(2.5);
    expect(c.models).toEqual({
      planner: ['claude-opus-4-6'],
      coder: ['claude-sonnet-4-6', 'claude-sonnet-4-5'],
    });
    expect(c.timeouts).toEqual({ clarifyDays: 3, approvalHours: 24, checksMinutes: 30 });
    expect(c.riskyPermissions).toEqual([
      'may change CI/infrastructure files: .github/workflows/test.yml',
      'may change dependency manifests and lock files',
    ]);
    expect(result.summary).toContain("label 'ai-please'");
    expect(result.summary).toContain('RISKY');
    expect(result.summary).not.toContain('\n');
    expect(Contract.safeParse(c).success).toBe(true);
  });

  it('accepts a BOM and the .yaml spelling of sequences in flow style', () => {
    expect(parseFactoryConfig('\uFEFFallowed_paths: [src/**]\n').ok).toBe(true);
  });
});

describe('parseFactoryConfig: hostile files', () => {
  it('reports wrong types with the field path and the line', () => {
    const errors = errorsOf(
      parseFactoryConfig(
        'max_files_changed: "ten"\nallowed_paths: src/**\napprovers: alice\nallow_ci_changes: yes\n',
      ),
    );
    expect(errors.map((e) => e.path)).toEqual([
      'max_files_changed',
      'allowed_paths',
      'approvers',
      'allow_ci_changes',
    ]);
    expect(errors[0]).toMatchObject({ line: 1, col: 1, message: expect.stringContaining('got string') });
    expect(errors[1]?.message).toContain('list of path globs');
    expect(errors[3]?.message).toBe('must be true or false');
  });

  it('rejects unknown keys at every level, one error per key', () => {
    const errors = errorsOf(
      parseFactoryConfig(
        'extra: 1\nmodels:\n  planer: x\ntimeouts:\n  clarify_hours: 2\napprovers:\n  - login: a\n    email: a@b.co\n    admin: true\n',
      ),
    );
    expect(errors.map((e) => e.path)).toEqual([
      'extra',
      'models.planer',
      'timeouts.clarify_hours',
      'approvers[0].admin',
    ]);
    expect(errors.every((e) => e.message.includes('not a known setting'))).toBe(true);
    expect(errors[1]).toMatchObject({ line: 3, col: 3 });
    expect(paths(parseFactoryConfig('__proto__: {allowed_paths: [x]}\n'))).toEqual(['__proto__']);
    expect(paths(parseFactoryConfig('constructor: 1\n'))).toEqual(['constructor']);
  });

  it.each([
    ['max_files_changed', -1, '1 to 1000'],
    ['max_files_changed', 0, '1 to 1000'],
    ['max_files_changed', 1e9, '1 to 1000'],
    ['max_files_changed', 2.5, '1 to 1000'],
    ['max_lines_changed', 100000000000000000000, '1 to 50000'],
    ['max_file_bytes', 100, '1024 to 1048576'],
    ['max_change_bytes', 1e12, '1024 to 104857600'],
    ['max_fix_attempts', 11, '0 to 10'],
    ['max_fix_attempts', -1, '0 to 10'],
    ['budget_usd', 0, '0.01 to 500'],
    ['budget_usd', -5, '0.01 to 500'],
    ['budget_usd', 1e6, '0.01 to 500'],
    ['budget_usd', '.inf', '0.01 to 500'],
    ['monthly_budget_usd', 0, '0.01 to 100000'],
    ['monthly_budget_usd', 1e9, '0.01 to 100000'],
    ['budget_usd', '.nan', '0.01 to 500'],
  ])('refuses %s: %s with the allowed range', (field, value, range) => {
    const errors = errorsOf(parseFactoryConfig(`${field}: ${value}\n`));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.path).toBe(field);
    expect(errors[0]?.message).toContain(range);
  });

  it('takes per-stage turn limits under limits.turns, each defaulted, and refuses others with the range', () => {
    expect(defaultContract().turns).toEqual({
      plan: LIMITS.turns.plan.default,
      implement: LIMITS.turns.implement.default,
      review: LIMITS.turns.review.default,
    });
    expect(contractOf('limits:\n  turns:\n    implement: 12\n').turns).toEqual({
      ...defaultContract().turns,
      implement: 12,
    });
    const errors = errorsOf(
      parseFactoryConfig(
        'limits:\n  turns:\n    plan: 1\n    implement: 101\n    review: 2.5\n    fix: 3\n  tokens: 9\n',
      ),
    );
    expect(errors.map((e) => [e.path, e.message])).toEqual([
      ['limits.turns.plan', 'must be a whole number from 2 to 100'],
      ['limits.turns.implement', 'must be a whole number from 2 to 100'],
      ['limits.turns.review', 'must be a whole number from 2 to 100'],
      ['limits.turns.fix', 'is not a known setting (see docs/factory-yml.md)'],
      ['limits.tokens', 'is not a known setting (see docs/factory-yml.md)'],
    ]);
    expect(errors[0]).toMatchObject({ line: 3, col: 5 });
    expect(paths(parseFactoryConfig('limits:\n  turns: 40\n'))).toEqual(['limits.turns']);
  });

  it('takes limits.ci_log_summary_chars (20,000 by default, 0 for never) and refuses what is out of range', () => {
    expect(defaultContract().ciLogSummaryChars).toBe(20_000);
    expect(contractOf('limits:\n  ci_log_summary_chars: 0\n').ciLogSummaryChars).toBe(0);
    expect(contractOf('limits:\n  ci_log_summary_chars: 5000\n').ciLogSummaryChars).toBe(5000);
    const errors = errorsOf(parseFactoryConfig('limits:\n  ci_log_summary_chars: -1\n'));
    expect(errors.map((e) => [e.path, e.message])).toEqual([
      ['limits.ci_log_summary_chars', 'must be a whole number from 0 to 10000000'],
    ]);
  });

  it('takes an optional monthly budget and shows it in the summary', () => {
    const withCap = parseFactoryConfig('monthly_budget_usd: 250\n');
    const without = parseFactoryConfig('budget_usd: 3\n');
    expect(withCap.ok && withCap.contract.monthlyBudgetUsd).toBe(250);
    expect(withCap.ok && withCap.summary).toContain('$250.00/month');
    expect(without.ok && without.contract.monthlyBudgetUsd).toBeUndefined();
  });

  it('refuses absurd timeouts, list lengths and strings', () => {
    expect(
      paths(parseFactoryConfig('timeouts:\n  clarify_days: 365\n  approval_hours: 0\n  checks_minutes: 1\n')),
    ).toEqual(['timeouts.clarify_days', 'timeouts.approval_hours', 'timeouts.checks_minutes']);
    const many = Array.from({ length: 101 }, (_, i) => `  - dir${i}/**`).join('\n');
    expect(paths(parseFactoryConfig(`forbidden_paths:\n${many}\n`))).toEqual(['forbidden_paths']);
    expect(paths(parseFactoryConfig('allowed_paths: []\n'))).toEqual(['allowed_paths']);
    expect(paths(parseFactoryConfig(`trigger_label: ${'x'.repeat(51)}\n`))).toEqual(['trigger_label']);
    expect(paths(parseFactoryConfig('trigger_label: "a\\u0000b"\n'))).toEqual(['trigger_label']);
    expect(paths(parseFactoryConfig('version: 2\n'))).toEqual(['version']);
    expect(paths(parseFactoryConfig('models:\n  coder: []\n  fast: "rm -rf /"\n'))).toEqual([
      'models.coder',
      'models.fast',
    ]);
    expect(
      paths(
        parseFactoryConfig(
          'approvers:\n  - {login: "-bad", email: x@y.co}\n  - {login: ok, email: ok@y.co}\n  - {login: OK, email: ok@z.co}\n',
        ),
      ),
    ).toEqual(['approvers[0].login', 'approvers[2].login']);
    expect(paths(parseFactoryConfig('dependencies:\n  policy: sometimes\n'))).toEqual([
      'dependencies.policy',
    ]);
  });

  it('refuses any attempt to allow the factory config itself', () => {
    for (const glob of [
      '.github/factory.yml',
      '.github/factory.yaml',
      '.github/factory.*',
      '**/factory.yml',
      '.GITHUB/Factory.yml',
      '.github/{factory,other}.yml',
      '.github/f*',
      // A broad brace alternative must not hide a targeted one.
      '{.github/factory.yml,*.yml}',
      '{.github/factory.yml,**}',
      '{src/**,.github/factory.yml,*}',
      '.github/{factory,zz-neighbour}.yml',
      '{a,{b,.github/factory.yaml}}',
    ]) {
      const errors = errorsOf(parseFactoryConfig(`allowed_paths: ['${glob}']\n`));
      expect(
        errors.map((e) => e.path),
        glob,
      ).toEqual(['allowed_paths[0]']);
      expect(errors[0]?.message).toContain('always forbidden');
    }
    const viaCi = errorsOf(parseFactoryConfig("allow_ci_changes: true\nci_paths: ['.github/factory.yml']\n"));
    expect(viaCi.map((e) => e.path)).toEqual(['ci_paths[0]']);
    // There is no field to remove built-in forbidden paths.
    expect(paths(parseFactoryConfig('unforbid: ["**"]\n'))).toEqual(['unforbid']);
  });

  it('keeps the factory config forbidden under broad globs', () => {
    for (const config of [
      "allowed_paths: ['.github/**']\n",
      "allowed_paths: ['**']\n",
      "allowed_paths: ['.github/*.yml']\n",
      "allow_ci_changes: true\nci_paths: ['.github/**']\n",
    ]) {
      const contract = contractOf(config);
      for (const path of ['.github/factory.yml', '.github/factory.yaml', '.GitHub/Factory.YML']) {
        expect(isPathAllowed(contract, path), `${config} ${path}`).toBe(false);
      }
    }
    expect(decidePath(contractOf("allowed_paths: ['.github/**']\n"), '.github/factory.yml')).toMatchObject({
      allowed: false,
      rule: 'factory-config',
    });
    expect(singlesOutFactoryConfig('**')).toBe(false);
    expect(singlesOutFactoryConfig('.github/**')).toBe(false);
    expect(singlesOutFactoryConfig('.github/factory.yml')).toBe(true);
  });

  it.each([
    ['../secrets/**', "'..'"],
    ['src/../../etc/passwd', "'..'"],
    ['{..,src}/x', "'..'"],
    ['/etc/**', 'relative'],
    ['C:/Windows/**', 'relative'],
    ['~/x', 'relative'],
    ['src\\\\**', 'backslash'],
    ['src/\\u0000x', 'control'],
    ['!src/**', 'negation'],
    ['./src/**', "'./'"],
    ['src/', 'empty segments'],
  ])('refuses the glob %s', (glob, fragment) => {
    const errors = errorsOf(parseFactoryConfig(`allowed_paths: ["${glob}"]\n`));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.path).toBe('allowed_paths[0]');
    expect(errors[0]?.message).toContain(fragment);
  });

  it('reports YAML syntax errors with line and column', () => {
    const errors = errorsOf(
      parseFactoryConfig('trigger_label: factory\nallowed_paths: [src/**\nmax_files_changed: 3\n'),
    );
    expect(errors[0]).toMatchObject({ path: '(yaml)', line: expect.any(Number), col: expect.any(Number) });
    expect(errors[0]?.line).toBeGreaterThanOrEqual(2);
    const duplicate = errorsOf(parseFactoryConfig('budget_usd: 1\nbudget_usd: 400\n'));
    expect(duplicate[0]).toMatchObject({
      path: '(yaml)',
      line: 2,
      col: 1,
      message: expect.stringContaining('unique'),
    });
    const tag = errorsOf(parseFactoryConfig('trigger_label: !!js/function "x"\n'));
    expect(tag[0]).toMatchObject({ path: '(yaml)', line: 1 });
  });

  it('refuses YAML 1.1 collection and binary tags that would hide keys from the schema', () => {
    for (const source of [
      '!!set\n? max_files_changed\n? bogus\n',
      'dependencies: !!set {policy, evil}\n',
      'dependencies: !!omap [ {policy: allow}, {evil: 1} ]\n',
      'approvers: !!pairs [ {login: a}, {email: b} ]\n',
      'trigger_label: !!binary aGVsbG8=\n',
      'trigger_label: !!timestamp 2026-01-01\n',
    ]) {
      const errors = errorsOf(parseFactoryConfig(source));
      expect(errors, source).toHaveLength(1);
      expect(errors[0], source).toMatchObject({
        path: '(yaml)',
        message: expect.stringContaining('not supported'),
      });
    }
  });

  it('refuses non-mapping and multi-document files', () => {
    expect(errorsOf(parseFactoryConfig('- a\n- b\n'))[0]?.message).toContain('not a list');
    expect(errorsOf(parseFactoryConfig('just text\n'))[0]?.message).toContain('not a single value');
    expect(errorsOf(parseFactoryConfig('42\n'))[0]?.message).toContain('mapping');
    expect(errorsOf(parseFactoryConfig('a: 1\n---\nb: 2\n'))[0]?.message).toContain(
      'exactly one YAML document',
    );
    expect(errorsOf(parseFactoryConfig('budget_usd: *missing\n'))[0]?.message).toContain('unresolved');
  });

  it('refuses a billion-laughs YAML bomb quickly', () => {
    const rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [prev, next] of [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
      ['d', 'e'],
      ['e', 'f'],
      ['f', 'g'],
      ['g', 'h'],
      ['h', 'i'],
    ]) {
      rows.push(`${next}: &${next} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const started = performance.now();
    const errors = errorsOf(parseFactoryConfig(`${rows.join('\n')}\n`));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(errors).toEqual([{ path: '(file)', message: expect.stringContaining('too many YAML aliases') }]);
    // A few aliases are fine as long as the result validates.
    expect(parseFactoryConfig('x: &g [src/**]\n').ok).toBe(false); // unknown key, not a crash
    expect(contractOf('allowed_paths: &g [src/**]\nforbidden_paths: *g\n').forbiddenPaths).toContain(
      'src/**',
    );
  });

  it('refuses deep nesting before the recursive YAML composer sees it (no process crash)', () => {
    // Thousands of levels once killed the process inside yaml's composer (a fatal V8 error, not an exception).
    for (const text of [
      '{'.repeat(5000),
      `a: ${'['.repeat(30_000)}${']'.repeat(30_000)}`,
      `${'- '.repeat(30_000)}x`,
      `${'? '.repeat(30_000)}x`,
      `a:\n${Array.from({ length: 300 }, (_, i) => `${' '.repeat(i + 1)}b:`).join('\n')}`,
    ]) {
      const errors = errorsOf(parseFactoryConfig(text));
      expect(errors).toEqual([{ path: '(file)', message: expect.stringContaining('levels deep') }]);
    }
    expect(errorsOf(parseFactoryConfig(`${'- '.repeat(LIMITS.nestingDepth)}x`))[0]?.message).toContain(
      'not a list',
    );
    expect(errorsOf(parseFactoryConfig('allowed_paths: &a [*a]\n'))[0]?.path).toBe('allowed_paths[0]');
  });

  it('refuses a 5 MB file quickly, without parsing it', () => {
    const huge = `allowed_paths:\n${'  - src/**\n'.repeat(500_000)}`;
    expect(huge.length).toBeGreaterThan(5_000_000);
    const started = performance.now();
    const errors = errorsOf(parseFactoryConfig(huge));
    expect(performance.now() - started).toBeLessThan(500);
    expect(errors).toEqual([{ path: '(file)', message: expect.stringContaining('65536 bytes') }]);
    // Multi-byte characters count as bytes, not characters.
    expect(parseFactoryConfig(`# ${'é'.repeat(40_000)}\n`).ok).toBe(false);
  });

  it('never throws and never accepts garbage: bounded fuzz', () => {
    // Deterministic PRNG so a failure reproduces.
    let seed = 0x2f6b_1a3d;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fff_ffff;
      return seed / 0x8000_0000;
    };
    const alphabet = [
      'a',
      ':',
      ' ',
      '\n',
      '-',
      '[',
      ']',
      '{',
      '}',
      '&',
      '*',
      '!',
      '|',
      '>',
      '"',
      "'",
      '#',
      '%',
      '@',
      '\\',
      '\t',
      '1',
      '.',
      '?',
      ',',
      'allowed_paths',
      'budget_usd',
      '<<',
      '\u0000',
      '\uFEFF',
      'é',
    ];
    const known = [
      'allowed_paths: [src/**]\n',
      'budget_usd: 3\n',
      'max_fix_attempts: 2\n',
      'models: {fast: claude-haiku-4-5}\n',
    ];
    for (let i = 0; i < 1500; i++) {
      const length = Math.floor(random() * (random() < 0.05 ? 3000 : 60));
      let text = random() < 0.3 ? (known[Math.floor(random() * known.length)] ?? '') : '';
      for (let j = 0; j < length; j++) text += alphabet[Math.floor(random() * alphabet.length)];
      const result = parseFactoryConfig(text);
      if (result.ok) expect(Contract.safeParse(result.contract).success).toBe(true);
      else {
        expect(result.errors.length).toBeGreaterThan(0);
        for (const e of result.errors) expect(typeof e.message).toBe('string');
      }
    }
    // Random globs: validated or refused, and matching never throws nor hangs.
    const globChars = [
      'a',
      'b',
      '*',
      '?',
      '[',
      ']',
      '{',
      '}',
      ',',
      '/',
      '.',
      '-',
      '!',
      '^',
      '(',
      ')',
      '|',
      '@',
      '+',
    ];
    const started = performance.now();
    for (let i = 0; i < 1500; i++) {
      let glob = '';
      for (let j = 0, n = 1 + Math.floor(random() * 30); j < n; j++)
        glob += globChars[Math.floor(random() * globChars.length)];
      const result = parseFactoryConfig(`allowed_paths: ${JSON.stringify([glob])}\n`);
      if (result.ok) {
        expect(typeof isPathAllowed(result.contract, 'a/b.ab')).toBe('boolean');
        expect(typeof isPathAllowed(result.contract, `${'ab/'.repeat(100)}a`)).toBe('boolean');
      }
    }
    expect(performance.now() - started).toBeLessThan(10_000);
    // Non-string input from a careless caller is a refusal too.
    expect(parseFactoryConfig(undefined as unknown as string).ok).toBe(false);
    expect(parseFactoryConfig({} as unknown as string).ok).toBe(false);
  });
});

describe('path decisions', () => {
  const contract = contractOf(
    "allowed_paths: ['src/**', 'test/**', '.github/**', 'package.json']\nforbidden_paths: ['src/vendor/**']\n",
  );

  it('allows paths under allowed globs only', () => {
    expect(isPathAllowed(contract, 'src/a.ts')).toBe(true);
    expect(isPathAllowed(contract, 'test/deep/a.test.ts')).toBe(true);
    expect(decidePath(contract, 'README.md')).toMatchObject({ allowed: false, rule: 'not-allowed-path' });
    expect(decidePath(contract, 'src/vendor/x.js')).toMatchObject({ allowed: false, rule: 'forbidden-path' });
    expect(decidePath(contract, 'SRC/Vendor/x.js')).toMatchObject({ allowed: false });
  });

  it('forbids CI/infra paths even under allowed globs, unless opted in', () => {
    for (const path of [
      '.github/workflows/ci.yml',
      '.GitHub/Workflows/ci.yml',
      '.github/actions/a/action.yml',
      '.github/CODEOWNERS',
    ]) {
      expect(decidePath(contract, path), path).toMatchObject({ allowed: false, rule: 'ci-path' });
    }
    const all = defaultContract();
    for (const path of [
      'Dockerfile',
      'svc/Dockerfile.dev',
      '.gitlab-ci.yml',
      '.circleci/config.yml',
      'Jenkinsfile',
      'infra/main.ts',
      'deploy/x.tf',
    ]) {
      expect(decidePath(all, path), path).toMatchObject({ allowed: false, rule: 'ci-path' });
    }
    const optedIn = contractOf(
      "allowed_paths: ['src/**']\nallow_ci_changes: true\nci_paths: ['.github/workflows/test.yml']\n",
    );
    expect(isPathAllowed(optedIn, '.github/workflows/test.yml')).toBe(true);
    expect(isPathAllowed(optedIn, '.github/workflows/deploy.yml')).toBe(false);
    expect(isPathAllowed(optedIn, '.github/factory.yml')).toBe(false);
  });

  it('forbids built-in secret and git paths whatever the contract says', () => {
    const all = defaultContract();
    for (const path of [
      '.env',
      'app/.env.production',
      'certs/server.pem',
      '.git/config',
      'sub/.git/HEAD',
      '.ssh/id_rsa',
      '.npmrc',
    ]) {
      expect(decidePath(all, path), path).toMatchObject({ allowed: false, rule: 'forbidden-path' });
    }
    // A tampered snapshot that drops the built-in lists still cannot widen them.
    const tampered: Contract = { ...all, forbiddenPaths: [], ciProtectedPaths: [] };
    expect(isPathAllowed(tampered, '.github/factory.yml')).toBe(false);
    expect(isPathAllowed(tampered, '.github/workflows/x.yml')).toBe(false);
    expect(isPathAllowed(tampered, '.env')).toBe(false);
  });

  it('refuses unsafe paths before matching', () => {
    for (const path of [
      '../x',
      'src/../../x',
      '/etc/passwd',
      'C:/x',
      'src\\x',
      'a\u0000b',
      'a//b',
      'a/./b',
      'src/',
      '',
      'x'.repeat(2000),
    ]) {
      expect(decidePath(defaultContract(), path), JSON.stringify(path)).toMatchObject({
        allowed: false,
        rule: 'invalid-path',
      });
      expect(pathProblem(path)).toBeDefined();
    }
    expect(pathProblem('src/a.ts')).toBeUndefined();
    expect(globProblem('src/**/*.{ts,tsx}')).toBeUndefined();
  });

  it('recognises dependency manifests at any depth, case-insensitively', () => {
    const c = defaultContract();
    for (const path of [
      'package.json',
      'web/package-lock.json',
      'requirements-dev.txt',
      'go.mod',
      'crates/x/Cargo.toml',
      'YARN.lock',
    ]) {
      expect(isDependencyManifest(c, path), path).toBe(true);
    }
    expect(isDependencyManifest(c, 'src/package.ts')).toBe(false);
  });

  it('contractFromConfig without a config equals the default contract', () => {
    expect(contractFromConfig()).toEqual(defaultContract());
  });
});
