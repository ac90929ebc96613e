import { describe, expect, it } from 'vitest';
import {
  checkBoundary,
  describeViolations,
  type FileChange,
  findSecrets,
  looksRandom,
  SECRET_PATTERNS,
  shannonEntropy,
} from '../../../functions/shared/domain/boundary';
import {
  type Contract,
  defaultContract,
  parseFactoryConfig,
} from '../../../functions/shared/domain/contract';

const contractOf = (text: string): Contract => {
  const result = parseFactoryConfig(text);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.contract;
};
const change = (
  path: string,
  addedLines: string[] = ['x'],
  status: FileChange['status'] = 'modified',
  removedLineCount = 0,
): FileChange => ({
  path,
  status,
  addedLines,
  removedLineCount,
  addedBytes: addedLines.reduce((n, line) => n + Buffer.byteLength(line) + 1, 0),
});
const rules = (contract: Contract, changes: FileChange[]) =>
  checkBoundary(contract, changes).map((v) => v.rule);

// Fake credentials, assembled at run time so no scanner mistakes this file for a leak.
const join = (...parts: string[]) => parts.join('');
const FAKE = {
  awsKeyId: join('AK', 'IA', 'QWERTYUIOPASDFGH'),
  awsSecret: join('wJalrXUtnFEMI/K7MDENG/bPxRfi', 'CYEXAMPLEKEY'),
  ghp: join('gh', 'p_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'),
  ghs: join('gh', 's_', 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2'),
  pat: join('github', '_pat_', '11ABCDEFG0123456789_abcdefghijKLMNOPQRSTUV'),
  anthropic: join('sk-', 'ant-', 'api03-Xy7Qk2LmN9pR4sT6vW8zA1bC3dE5fG'),
  slack: join('xo', 'xb-', '1234567890-abcdefGHIJKL'),
  pem: join('-----BEGIN ', 'RSA PRIVATE', ' KEY-----'),
  openssh: join('-----BEGIN ', 'OPENSSH PRIVATE', ' KEY-----'),
  generic: join('q8Zr3Lw9', 'Xt2Vb7Nk4Mh6Jp1Y'),
};

describe('secret patterns', () => {
  it.each([
    ['aws-access-key-id', `const id = '${FAKE.awsKeyId}';`],
    ['aws-secret-access-key', `aws_secret_access_key = ${FAKE.awsSecret}`],
    ['github-token', `token: ${FAKE.ghp}`],
    ['github-token', `GH=${FAKE.ghs}`],
    ['github-fine-grained-token', `"${FAKE.pat}"`],
    ['anthropic-api-key', `ANTHROPIC_API_KEY=${FAKE.anthropic}`],
    ['slack-token', `hook: ${FAKE.slack}`],
    ['private-key', FAKE.pem],
    ['private-key', FAKE.openssh],
    ['generic-secret', `const clientSecret = "${FAKE.generic}";`],
    ['generic-secret', `password: ${FAKE.generic}`],
  ])('finds %s', (id, line) => {
    expect(findSecrets(line)).toContain(id);
  });

  it.each([
    'const tokenCount = countTokens(text);',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a template
    'password: ${{ secrets.DB_PASSWORD }}',
    'const apiKey = process.env.API_KEY;',
    'secret = getSecretFromEnvironmentVariable()',
    'token = "xxxxxxxxxxxxxxxxxxxxxxxx"',
    'password = "your-password-here-123456"',
    'api_key: 1234567890123456789',
    'export const GITHUB_TOKEN_PREFIX = "ghp_";',
    '// see -----BEGIN PUBLIC KEY----- for the format',
    'const sha = "3f786850e387550fdab836ed7e6dc881de23001b";',
  ])('does not flag ordinary code: %s', (line) => {
    expect(findSecrets(line)).toEqual([]);
  });

  it('measures entropy and randomness', () => {
    expect(shannonEntropy('')).toBe(0);
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
    expect(looksRandom(FAKE.generic)).toBe(true);
    expect(looksRandom('aaaaaaaaaaaaaaaaaaaaaaaaa1')).toBe(false);
    expect(looksRandom('short1A')).toBe(false);
  });

  it('scans a long hostile line in linear time', () => {
    const lines = [
      `password=${'a1'.repeat(200_000)}${'='.repeat(10_000)} ${'-----BEGIN '.repeat(20_000)}`,
      'token'.repeat(40_000),
      'secret_'.repeat(30_000),
      `token${' '.repeat(100_000)}`,
      'aws_secret_access_key '.repeat(10_000),
      // Encoded candidates: one huge base64 run, and thousands of short mixed-case ones.
      Buffer.from(Array.from({ length: 150_000 }, (_, i) => (i * 7919) % 251)).toString('base64'),
      Array.from({ length: 8000 }, (_, i) => `Zm9vYmFyQmF6cXV4${i}AbCdEfGhIjKl`).join(' '),
      `${'%41'.repeat(50_000)} ${'%2D'.repeat(30_000)}`,
      'MII'.repeat(60_000),
    ];
    for (const line of lines) {
      const started = performance.now();
      findSecrets(line);
      expect(performance.now() - started, line.slice(0, 20)).toBeLessThan(300);
    }
    expect(SECRET_PATTERNS.every((p) => !p.regex.global)).toBe(true);
  });
});

describe('checkBoundary', () => {
  const contract = contractOf(
    "allowed_paths: ['src/**', 'test/**', '.github/**', 'package.json']\nforbidden_paths: ['src/vendor/**']\nmax_files_changed: 3\nmax_lines_changed: 10\n",
  );

  it('accepts a change inside the contract', () => {
    expect(
      checkBoundary(contract, [change('src/a.ts', ['a', 'b']), change('test/a.test.ts', ['c'], 'added')]),
    ).toEqual([]);
    expect(checkBoundary(contract, [])).toEqual([]);
  });

  it('reports forbidden, not-allowed, CI and factory-config paths, deletions included', () => {
    const violations = checkBoundary(contract, [
      change('src/vendor/lib.js'),
      change('README.md'),
      change('.github/workflows/ci.yml', [], 'deleted', 20),
      change('.github/factory.yml'),
    ]);
    expect(violations.map((v) => [v.rule, v.path])).toEqual([
      ['forbidden-path', 'src/vendor/lib.js'],
      ['not-allowed-path', 'README.md'],
      ['ci-path', '.github/workflows/ci.yml'],
      ['factory-config', '.github/factory.yml'],
      ['too-many-files', undefined],
      ['too-many-lines', undefined],
    ]);
    expect(violations[2]?.message).toContain('cannot be deleted');
  });

  it('reports path traversal without echoing the raw path', () => {
    const violations = checkBoundary(contract, [change('src/../../etc/passwd'), change('src/\u0000evil')]);
    expect(violations.map((v) => v.rule)).toEqual(['invalid-path', 'invalid-path']);
    expect(violations.every((v) => v.path === undefined && !v.message.includes('\u0000'))).toBe(true);
  });

  it('counts files and lines against the limits', () => {
    expect(rules(contract, [change('src/a.ts', Array(6).fill('x'), 'modified', 4)])).toEqual([]);
    expect(rules(contract, [change('src/a.ts', Array(6).fill('x'), 'modified', 5)])).toEqual([
      'too-many-lines',
    ]);
    const four = ['a', 'b', 'c', 'd'].map((n) => change(`src/${n}.ts`));
    const violations = checkBoundary(contract, four);
    expect(violations).toEqual([
      { rule: 'too-many-files', message: '4 files changed; the contract allows at most 3' },
    ]);
    // The same path listed twice is one file.
    expect(rules(contract, [change('src/a.ts'), change('src/a.ts'), change('src/b.ts')])).toEqual([]);
  });

  it('bounds the bytes added per file and in total, with the defaults on older snapshots', () => {
    const small = contractOf('max_file_bytes: 1024\nmax_change_bytes: 2048\n');
    const kib = 'k'.repeat(1023);
    expect(rules(small, [change('src/a.ts', [kib])])).toEqual([]);
    expect(rules(small, [change('src/a.ts', [kib, 'x'])])).toEqual(['file-too-large']);
    expect(
      rules(small, [change('src/a.ts', [kib]), change('src/b.ts', [kib]), change('src/c.ts', ['x'])]),
    ).toEqual(['too-many-bytes']);
    // addedBytes never counts fewer than the added lines hold.
    expect(rules(small, [{ ...change('src/a.ts', ['y'.repeat(5000)]), addedBytes: 0 }])).toContain(
      'file-too-large',
    );
    const { maxFileBytes: _f, maxChangeBytes: _c, ...older } = defaultContract();
    expect(rules(older as Contract, [change('src/a.ts', ['z'.repeat(200 * 1024)])])).toEqual([
      'file-too-large',
    ]);
  });

  it('applies the dependency policy', () => {
    expect(rules(contract, [change('package.json')])).toEqual(['dependency-manifest']);
    const allowing = contractOf("allowed_paths: ['**']\ndependencies:\n  policy: allow\n");
    expect(rules(allowing, [change('package.json'), change('web/yarn.lock')])).toEqual([]);
    const extra = contractOf("dependencies:\n  manifests: ['**/deps.edn']\n");
    expect(rules(extra, [change('app/deps.edn')])).toEqual(['dependency-manifest']);
  });

  it('finds secrets in added lines and never repeats them', () => {
    const secrets = Object.values(FAKE);
    const violations = checkBoundary(defaultContract(), [
      change('src/config.ts', ['const ok = 1;', `const k = '${FAKE.ghp}';`]),
      change('src/keys.ts', [FAKE.pem, 'MIIEow...']),
    ]);
    expect(violations.map((v) => [v.rule, v.path])).toEqual([
      ['secret', 'src/config.ts'],
      ['secret', 'src/keys.ts'],
    ]);
    expect(violations[0]?.message).toContain('added line 2');
    expect(violations[0]?.message).toContain('GitHub token');
    const text = describeViolations(violations);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain('a1B2c3');
  });

  it('bounds the secret findings per file', () => {
    const lines = Array.from({ length: 50 }, () => FAKE.pem);
    const violations = checkBoundary(defaultContract(), [change('src/x.ts', lines)]);
    expect(violations.filter((v) => v.rule === 'secret')).toHaveLength(5);
  });

  it('refuses a malformed change set instead of throwing', () => {
    const bad = [
      { path: 'src/a.ts', status: 'renamed', addedLines: [], removedLineCount: 0 },
    ] as unknown as FileChange[];
    expect(rules(contract, bad)).toEqual(['invalid-change']);
    expect(rules(contract, [{ ...change('src/a.ts'), removedLineCount: -1 }])).toEqual(['invalid-change']);
  });
});
