import { describe, expect, it } from 'vitest';
import { checkBoundary } from '../../functions/shared/domain/boundary';
import { contractFromConfig, defaultContract } from '../../functions/shared/domain/contract';
import { decidePath } from '../../functions/shared/domain/path-rules';
import { repoPath } from '../../functions/shared/domain/workspace-paths';
import type { GitHub } from '../../functions/shared/ports';
import { redactSecrets, scanSecrets } from '../../functions/shared/domain/secret-scan';
import { requestApproval } from '../../functions/stages/approval';
import { workOf } from '../../functions/stages/deps';
import { redactText } from '../../functions/stages/redaction';
import { checkChangeBoundary } from '../../functions/stages/boundary';
import type { FakeStore } from '../support/fake-store';
import { tarballOf } from '../support/tarball';
import {
  approvalEvent,
  BASE_URL,
  formOf,
  invoker,
  linksOf,
  makeWorld,
  reviewedRun,
  runContract,
  TASK_TOKEN,
} from './approvals/support';

// Issue 22 ("Hardening"): the bypasses an attacker tried, one place. Each case fails if its fix is
// reverted. Focused tests of the same code live beside it (test/unit/approvals, test/unit/domain).

describe('approval POSTs from another origin', () => {
  /** A run waiting for approval, and alice's approve form as her confirmation page renders it. */
  async function alicesForm() {
    const world = makeWorld();
    const store = world.store as FakeStore;
    const run = reviewedRun();
    await store.createRun(run);
    world.workflow.liveTokens.add(TASK_TOKEN);
    await requestApproval(world.stagePorts, run.runId, TASK_TOKEN);
    const message = world.mailer.sent.find((m) => m.to[0] === 'alice@example.test');
    if (!message) throw new Error('no email for alice');
    const url = linksOf(message).approve;
    const id = decodeURIComponent(url.pathname.split('/').at(-1) ?? '');
    const invoke = invoker(world.approvalsPorts);
    const page = await invoke(approvalEvent('GET', id, { query: Object.fromEntries(url.searchParams) }));
    const body = new URLSearchParams(formOf(page.body, 'approve').fields).toString();
    const post = (headers: Record<string, string>) =>
      invoke(approvalEvent('POST', id, { body, headers: { 'user-agent': 'TestBrowser/1.0', ...headers } }));
    const stillWaiting = async () =>
      (await store.getWait('approval', run.runId)) !== undefined &&
      (await store.getRun(run.runId))?.status === 'AWAITING_APPROVAL' &&
      world.workflow.calls === 0;
    const refusals = async () =>
      (await store.listEvents(run.runId, { limit: 50 })).items.filter((e) => e.type === 'approval.refused');
    return { world, post, stillWaiting, refusals };
  }

  const foreign: Array<[string, Record<string, string>]> = [
    ['another site', { origin: 'https://evil.example' }],
    ['a typed or bookmarked POST (Sec-Fetch-Site: none)', { 'sec-fetch-site': 'none' }],
    ['a look-alike host', { origin: 'https://factory.example.test.evil.example' }],
    ['another scheme', { origin: 'http://factory.example.test' }],
    ['another port', { origin: 'https://factory.example.test:8443' }],
    ['a sandboxed frame (Origin: null)', { origin: 'null' }],
    ['Sec-Fetch-Site: cross-site alone', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site (a sibling API)', { 'sec-fetch-site': 'same-site' }],
    ['Origin right but Sec-Fetch-Site cross-site', { origin: BASE_URL, 'sec-fetch-site': 'cross-site' }],
    [
      'Sec-Fetch-Site same-origin but a foreign Origin',
      { origin: 'https://evil.example', 'sec-fetch-site': 'same-origin' },
    ],
    ['two Origin headers joined', { origin: `${BASE_URL},https://evil.example` }],
  ];

  for (const [name, headers] of foreign) {
    it(`refuses a valid form posted from ${name}; the run keeps waiting`, async () => {
      const { post, stillWaiting, refusals } = await alicesForm();
      const result = await post(headers);
      expect(result.statusCode).toBe(403);
      expect(result.body).toContain('Decision from another site');
      expect(result.body).toContain('not sent from the approval page itself');
      expect(await stillWaiting()).toBe(true);
      const audited = await refusals();
      expect(audited.map((e) => e.data?.reason)).toEqual(['cross-origin']);
    });
  }

  it('the same form from the page’s own origin decides', async () => {
    const { world, post } = await alicesForm();
    const result = await post({ origin: BASE_URL, 'sec-fetch-site': 'same-origin' });
    expect(result.statusCode).toBe(200);
    expect(result.body).toContain('<h1>Approved</h1>');
    expect(world.workflow.successes).toHaveLength(1);
  });

  it('a browser that withholds its origin (Origin: null) but vouches same-origin decides', async () => {
    const { world, post } = await alicesForm();
    expect((await post({ origin: 'null', 'sec-fetch-site': 'same-origin' })).statusCode).toBe(200);
    expect(world.workflow.successes).toHaveLength(1);
  });

  it('a client that sends neither header is judged by the tokens alone', async () => {
    const { world, post } = await alicesForm();
    expect((await post({})).statusCode).toBe(200);
    expect(world.workflow.successes).toHaveLength(1);
  });

  it('pages cannot be framed, and the page’s own POST keeps its Origin', async () => {
    const { post } = await alicesForm();
    const result = await post({ origin: BASE_URL });
    expect(result.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    // `no-referrer` would make browsers send `Origin: null` on the page's own form.
    expect(result.headers['referrer-policy']).toBe('same-origin');
  });
});

/**
 * The boundary stage end to end (overlay against a base tarball, default contract: 25 files, 1000
 * lines, 128 KiB added per file, 1 MiB in total): the rules that `write` is judged by.
 */
async function boundaryOf(base: Record<string, string>, written: Record<string, string | null>) {
  const world = makeWorld();
  const store = world.store as FakeStore;
  (world.stagePorts.github as GitHub & { getTarball: unknown }).getTarball = async () => tarballOf(base);
  const run = reviewedRun(
    { status: 'IMPLEMENTING', stage: 'implement', fixAttempts: 0 },
    runContract({ policy: defaultContract() as unknown as Record<string, unknown> }),
  );
  await store.createRun(run);
  for (const [path, content] of Object.entries(written)) {
    await store.putWorkspaceFile(run.runId, {
      path,
      deleted: content === null,
      ...(content === null ? {} : { content }),
      updatedAt: '2025-03-01T12:00:00.000Z',
    });
  }
  const { outcome } = await checkChangeBoundary(world.stagePorts, run.runId);
  const feedback = (await store.getRun(run.runId))?.feedback?.text ?? '';
  return { outcome, feedback };
}

const numbered = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => `const line${from + i} = ${from + i};`);

describe('size limits that cannot be walked around', () => {
  it('counts lines ended by a lone \\r (1500 lines that a \\n-only count sees as one)', async () => {
    const { outcome, feedback } = await boundaryOf({}, { 'src/mac.ts': numbered(1500).join('\r') });
    expect(outcome).toBe('retry');
    expect(feedback).toContain('[too-many-lines] 1500 lines changed');
  });

  it('counts \\r\\n and mixed endings line by line', async () => {
    const text = numbered(1200)
      .map((line, i) => `${line}${['\r\n', '\n', '\r'][i % 3]}`)
      .join('');
    expect((await boundaryOf({}, { 'src/mixed.ts': text })).feedback).toContain('1200 lines changed');
  });

  it('turning \\n into lone \\r changes every line, not one', async () => {
    const base = `${numbered(600).join('\n')}\n`;
    const { feedback } = await boundaryOf({ 'src/a.ts': base }, { 'src/a.ts': base.replaceAll('\n', '\r') });
    expect(feedback).toContain('[too-many-lines] 1200 lines changed');
  });

  it('a reordered file counts every moved line (a set difference saw none)', async () => {
    const lines = numbered(800);
    const { outcome, feedback } = await boundaryOf(
      { 'src/a.ts': `${lines.join('\n')}\n` },
      { 'src/a.ts': `${[...lines].reverse().join('\n')}\n` },
    );
    expect(outcome).toBe('retry');
    expect(feedback).toMatch(/\[too-many-lines\] 1\d{3} lines changed/);
  });

  it('a block moved to the end of the file counts as removed and added', async () => {
    const lines = numbered(2000);
    const moved = [...lines.slice(600), ...lines.slice(0, 600)];
    const { feedback } = await boundaryOf(
      { 'src/a.ts': `${lines.join('\n')}\n` },
      { 'src/a.ts': `${moved.join('\n')}\n` },
    );
    // Past the limit the diff stops and the file counts whole: an over-count, never an under-count.
    expect(feedback).toContain('[too-many-lines] 4000 lines changed');
    expect(feedback).toContain('One file differed too much to diff and counted as wholly rewritten');
  });

  it('a small move stays within the limits', async () => {
    const lines = numbered(2000);
    const moved = [...lines.slice(10), ...lines.slice(0, 10)];
    const { outcome } = await boundaryOf(
      { 'src/a.ts': `${lines.join('\n')}\n` },
      { 'src/a.ts': `${moved.join('\n')}\n` },
    );
    expect(outcome).toBe('pass');
  });

  it('one line of 200 KiB is refused by its bytes', async () => {
    const { outcome, feedback } = await boundaryOf(
      {},
      { 'src/blob.ts': `export const x = '${'a'.repeat(200 * 1024)}';\n` },
    );
    expect(outcome).toBe('retry');
    expect(feedback).toContain('[file-too-large] src/blob.ts gains 204821 bytes');
    expect(feedback).not.toContain('too-many-lines');
  });

  it('files each under the per-file limit are bounded in total', async () => {
    const written: Record<string, string> = {};
    for (let i = 0; i < 9; i++) written[`src/part${i}.ts`] = `// ${'b'.repeat(120 * 1024)}\n`;
    const { feedback } = await boundaryOf({}, written);
    expect(feedback).toContain('[too-many-bytes] the change adds 1105956 bytes');
    expect(feedback).not.toContain('file-too-large');
  });

  it('multi-byte characters count as the bytes they are', async () => {
    const { feedback } = await boundaryOf({}, { 'src/wide.ts': `${'€'.repeat(50 * 1024)}\n` });
    expect(feedback).toContain('[file-too-large] src/wide.ts gains 153601 bytes');
  });
});

describe('paths that are .git, or a protected path, in disguise', () => {
  const written = (path: string) => [
    { path, status: 'added' as const, addedLines: ['x'], removedLineCount: 0, addedBytes: 2 },
  ];
  /** The boundary's one violation for `path`, and what the write tools say. */
  const refusal = (path: string) => {
    const violations = checkBoundary(defaultContract(), written(path));
    const tool = repoPath(path);
    return { violations, tool: 'error' in tool ? tool.error : undefined };
  };

  const dotGit: Array<[string, string, string]> = [
    ['trailing dot', '.git./hooks/post-checkout', 'trailing dots or spaces'],
    ['trailing dots and spaces', '.git . ./config', 'trailing dots or spaces'],
    ['trailing space', '.git /config', 'trailing dots or spaces'],
    ['8.3 short name', 'git~1/hooks/pre-commit', '8.3 short name'],
    ['8.3 short name, upper case', 'GIT~2/config', '8.3 short name'],
    ['zero-width space', '.g\u200bit/config', 'invisible or look-alike'],
    ['zero-width joiner', '.gi\u200dt/config', 'invisible or look-alike'],
    ['word joiner', '.git\u2060/config', 'invisible or look-alike'],
    ['byte order mark', '\ufeff.git/config', 'invisible or look-alike'],
    ['right-to-left override', '\u202e.git/config', 'invisible or look-alike'],
    ['soft hyphen', '.gi\u00adt/config', 'invisible or look-alike'],
    ['variation selector', '.git\ufe0f/config', 'invisible or look-alike'],
    ['NTFS index stream', '.git::$INDEX_ALLOCATION/config', 'alternate data stream'],
    ['NTFS named stream', '.git:x/config', 'alternate data stream'],
    ['other case', '.GIT/config', 'another case'],
    ['Cyrillic і', '.g\u0456t/config', 'look-alike'],
    ['Latin script ɡ', '.\u0261it/config', 'look-alike'],
    ['dotless ı', '.g\u0131t/config', 'look-alike'],
    ['fullwidth full stop (NFKC)', '\uff0egit/config', 'look-alike'],
    ['one dot leader (skeleton, not NFKC)', '\u2024git/config', 'look-alike'],
    ['combining diaeresis', '.gi\u0308t/config', 'look-alike'],
    ['nested, deeper down', 'vendor/lib/.g\u0456t/config', 'look-alike'],
  ];
  for (const [name, path, why] of dotGit) {
    it(`refuses .git disguised by ${name}`, () => {
      const { violations, tool } = refusal(path);
      expect(violations.map((v) => v.rule)).toEqual(['invalid-path']);
      expect(violations[0]?.message).toContain('names .git in disguise');
      expect(violations[0]?.message).toContain(why);
      // The hostile name is not echoed by the boundary, and the tools show invisible characters escaped.
      expect(violations[0]?.path).toBeUndefined();
      expect(tool).toContain('names .git in disguise');
      expect(tool).not.toMatch(/\p{Default_Ignorable_Code_Point}|\p{Bidi_Control}/u);
    });
  }

  it.each([
    ['a trailing dot anywhere', 'src/index.ts.', 'ending in a dot or a space'],
    ['an NTFS stream of an ordinary file', 'src/index.ts::$DATA', 'alternate data stream'],
    ['an 8.3 short name', 'PROGRA~1/x.ts', '8.3 short name'],
    ['a bidi override hiding an extension', 'src/evil\u202esj.ts', 'invisible characters'],
  ])('refuses %s, which another file system reads as another name', (_name, path, why) => {
    const { violations } = refusal(path);
    expect(violations.map((v) => v.rule)).toEqual(['invalid-path']);
    expect(violations[0]?.message).toContain(why);
  });

  const protectedLookalikes: Array<[string, string, string]> = [
    ['a workflow under a Cyrillic і', '.g\u0456thub/workflows/deploy.yml', '.github/'],
    ['.gitmodules with a Cyrillic о', '.gitm\u043edules', '.gitmodules'],
    ['.gitattributes with an Armenian ս', 'src/.gitattrib\u057dtes', '.gitattributes'],
    ['CODEOWNERS with a Cyrillic һ', '.git\u04bbub/CODEOWNERS', '.github/'],
    ['an env file with a Cyrillic е', 'config/.\u0435nv', '**/.env'],
    ['an ssh key with a Cyrillic а', 'keys/id_rs\u0430', '**/id_rsa'],
    ['a Dockerfile with a Cyrillic і', 'Dockerf\u0456le', 'Dockerfile'],
    ['a workflow behind a fullwidth solidus', '.github\uff0fworkflows/deploy.yml', '.github/'],
  ];
  for (const [name, path, imitated] of protectedLookalikes) {
    it(`refuses ${name} (UTS #39 skeleton)`, () => {
      const violations = checkBoundary(defaultContract(), written(path));
      expect(violations.map((v) => v.rule)).toEqual(['lookalike-path']);
      expect(violations[0]?.message).toContain('looks like a protected path');
      expect(violations[0]?.message).toContain(imitated);
    });
  }

  it('a repository that opts in to .github/** still cannot write a look-alike of the factory config', () => {
    const optedIn = contractFromConfig({ allow_ci_changes: true, ci_paths: ['.github/**'] });
    expect(checkBoundary(optedIn, written('.github/ISSUE_TEMPLATE/bug.md'))).toEqual([]);
    const violations = checkBoundary(optedIn, written('.github/f\u0430ctory.yml'));
    expect(violations.map((v) => v.rule)).toEqual(['lookalike-path']);
    expect(violations[0]?.message).toContain('.github/factory.yml');
  });

  it('leaves ordinary names alone, accents and other scripts included', () => {
    for (const path of [
      'src/main.ts',
      'docs/über.md',
      'src/naïve.ts',
      'docs/日本語.md',
      '.github-pages/x.md',
      'src/.gitkeep',
    ]) {
      expect(checkBoundary(defaultContract(), written(path)), path).toEqual([]);
    }
  });
});

describe('protected by default', () => {
  const protectedPaths = [
    // all of .github, not only workflows
    '.github/ISSUE_TEMPLATE/bug.yml',
    '.github/pull_request_template.md',
    '.github/settings.yml',
    '.github/labeler.yml',
    '.github/copilot-instructions.md',
    '.github/workflows/ci.yml',
    // git settings
    '.gitattributes',
    'src/.gitattributes',
    '.gitmodules',
    '.lfsconfig',
    // package managers
    '.yarnrc',
    '.yarnrc.yml',
    '.yarn/releases/yarn-4.1.0.cjs',
    '.yarn/plugins/plugin.cjs',
    '.pnpmfile.cjs',
    'bunfig.toml',
    'pip.conf',
    'pip.ini',
    '.condarc',
    '.cargo/config.toml',
    '.bundle/config',
    '.gemrc',
    'NuGet.Config',
    '.mvn/extensions.xml',
    'gradle/wrapper/gradle-wrapper.properties',
    'gradle.properties',
  ];

  it.each(protectedPaths)('%s cannot change by default, even when allowed_paths covers it', (path) => {
    const covering = contractFromConfig({ allowed_paths: ['**'] });
    const decision = decidePath(covering, path);
    expect(decision).toMatchObject({ allowed: false, rule: 'ci-path' });
    expect(decision.allowed ? '' : decision.reason).toContain('forbidden unless the config opts in');
  });

  it('stays secret material whatever the config says: .npmrc and .pypirc', () => {
    const optedIn = contractFromConfig({ allow_ci_changes: true, ci_paths: ['**/.npmrc', '**/.pypirc'] });
    expect(decidePath(optedIn, '.npmrc')).toMatchObject({ allowed: false, rule: 'forbidden-path' });
    expect(decidePath(optedIn, 'pkg/.pypirc')).toMatchObject({ allowed: false, rule: 'forbidden-path' });
  });

  it('an explicit opt-in allows exactly the named paths and flags them as risky', () => {
    const optedIn = contractFromConfig({ allow_ci_changes: true, ci_paths: ['.github/ISSUE_TEMPLATE/**'] });
    expect(decidePath(optedIn, '.github/ISSUE_TEMPLATE/bug.yml')).toEqual({ allowed: true });
    expect(decidePath(optedIn, '.github/workflows/ci.yml')).toMatchObject({
      allowed: false,
      rule: 'ci-path',
    });
    expect(optedIn.riskyPermissions).toEqual([
      'may change CI/infrastructure files: .github/ISSUE_TEMPLATE/**',
    ]);
  });
});

// Fake credentials, assembled at run time so no scanner mistakes this file for a leak.
const join = (...parts: string[]) => parts.join('');
const b64 = (text: string) => Buffer.from(text).toString('base64');
const SECRET = {
  awsKeyId: join('AK', 'IA', 'QWERTYU2OPASDFGH'),
  ghp: join('gh', 'p_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'),
  npm: join('np', 'm_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'),
  anthropic: join('sk-', 'ant-', 'api03-Xy7Qk2LmN9pR4sT6vW8zA1bC3dE5fG'),
  openai: join('sk-', 'proj-', 'Xy7Qk2LmN9pR4sT6vW8zA1bC3dE5fGh'),
  stripe: join('sk_', 'live_', '4eC39HqLyjWDarjtT1zdp7dc'),
  rsaHeader: join('-----BEGIN ', 'RSA PRIVATE', ' KEY-----'),
  opensshHeader: join('-----BEGIN ', 'OPENSSH PRIVATE', ' KEY-----'),
  pkcs8Header: join('-----BEGIN ', 'PRIVATE', ' KEY-----'),
  pkcs8Body: join('MIIEvQIBADANBgkqhkiG9w0BAQEFAASC', 'BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj'),
  jwt: join(
    'eyJhbGciOiJIUzI1NiJ9',
    '.eyJzdWIiOiIxMjM0NTY3ODkwIn0',
    '.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  ),
  password: join('q8Zr3Lw9', 'Xt2Vb7Nk4Mh6Jp1Y'),
};

describe('secrets in added lines, in every form', () => {
  const cases: Array<[string, string, string]> = [
    ['an AWS key id glued to a prefix', `AWS_KEY_${SECRET.awsKeyId}=1`, 'aws-access-key-id'],
    ['an AWS key id after a lower-case prefix', `const awskey${SECRET.awsKeyId} = 1;`, 'aws-access-key-id'],
    [
      'an AWS key id written in groups',
      `id: ${SECRET.awsKeyId.replace(/(.{4})(?!$)/g, '$1-')}`,
      'aws-access-key-id',
    ],
    ['a GitHub token glued to a prefix', `TOKEN_${SECRET.ghp}`, 'github-token'],
    ['an npm token', `//registry.npmjs.org/:_authToken=${SECRET.npm}`, 'npm-token'],
    ['an Anthropic key', `ANTHROPIC_KEY_${SECRET.anthropic}`, 'anthropic-api-key'],
    ['an OpenAI key', `OPENAI=${SECRET.openai}`, 'openai-api-key'],
    ['a Stripe live key', `stripe(${JSON.stringify(SECRET.stripe)})`, 'stripe-secret-key'],
    ['an RSA private key block', SECRET.rsaHeader, 'private-key'],
    ['an OpenSSH private key block', SECRET.opensshHeader, 'private-key'],
    [
      'a PKCS#8 key inside a JSON string',
      `"private_key": "${SECRET.pkcs8Header}\\n${SECRET.pkcs8Body}"`,
      'private-key',
    ],
    ['a private key body without its header', `const der = '${SECRET.pkcs8Body}';`, 'private-key-body'],
    ['a base64-encoded GitHub token', `const t = atob("${b64(SECRET.ghp)}");`, 'github-token'],
    ['a base64-encoded AWS key id', `KEY=${b64(`id=${SECRET.awsKeyId}`)}`, 'aws-access-key-id'],
    ['a base64-encoded private key block', `pem: ${b64(`${SECRET.rsaHeader}\nMIIEow`)}`, 'private-key'],
    [
      'a base64url-encoded token',
      `t=${b64(SECRET.ghp).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')}`,
      'github-token',
    ],
    [
      'a percent-encoded private key block',
      `key=${encodeURIComponent(SECRET.rsaHeader).replaceAll('-', '%2D')}`,
      'private-key',
    ],
    ['a JWT', `Authorization: ${SECRET.jwt}`, 'jwt'],
    ['a password in a URL', `DATABASE_URL=postgres://app:${SECRET.password}@db:5432/app`, 'basic-auth-url'],
    ['a bearer token', `curl -H "Authorization: Bearer ${SECRET.password}x"`, 'bearer-token'],
    [
      'a high-entropy value under a secret-like name',
      `const dbPassword = '${SECRET.password}';`,
      'generic-secret',
    ],
  ];

  for (const [name, line, id] of cases) {
    it(`refuses ${name}`, () => {
      const violations = checkBoundary(defaultContract(), [
        {
          path: 'src/config.ts',
          status: 'added',
          addedLines: ['ok', line],
          removedLineCount: 0,
          addedBytes: 100,
        },
      ]);
      const secrets = violations.filter((v) => v.rule === 'secret');
      expect(secrets.map((v) => v.message).join('\n')).toContain(`(${id}`);
      expect(secrets[0]?.message).toContain('added line 2 of src/config.ts');
      for (const value of Object.values(SECRET)) expect(JSON.stringify(violations)).not.toContain(value);
    });
  }

  it.each([
    'const sha = "3f786850e387550fdab836ed7e6dc881de23001b";',
    'import { createReadStream } from "node:fs";',
    `const integrity = "${b64('just some ordinary text, nothing secret in it')}";`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell-style variable, not a template
    'const url = "https://user:${PASSWORD}@example.com";',
    'const ASIA_PACIFIC_REGION_NAME = 1;',
    'some_very_long_snake_case_identifier_name_here = other_long_snake_case_identifier',
  ])('leaves ordinary lines alone: %s', (line) => {
    expect(scanSecrets(line)).toEqual([]);
  });
});

describe('secrets in issue and comment text are redacted before any prompt', () => {
  const planted = [
    `key ${SECRET.awsKeyId}`,
    `AWS_KEY_${SECRET.awsKeyId}`,
    `token ${SECRET.ghp}`,
    `encoded ${b64(SECRET.ghp)}`,
    `${SECRET.rsaHeader}\n${SECRET.pkcs8Body}\n-----END RSA PRIVATE KEY-----`,
    `db postgres://app:${SECRET.password}@db/app`,
  ].join('\n');

  it('the work item reaches the prompt redacted, and the redaction is audited without the values', async () => {
    const world = makeWorld();
    const run = reviewedRun({ status: 'PLANNING', stage: 'plan' });
    await world.store.createRun(run);
    (world.stagePorts.github as GitHub & { getIssue: unknown }).getIssue = async () => ({
      number: 7,
      title: `Fix login (my token is ${SECRET.ghp})`,
      body: `Please fix it.\n${planted}\nThanks!`,
      author: 'octocat',
      state: 'open',
      labels: [],
    });
    const work = await workOf(world.stagePorts, run);
    expect(work.title).toBe('Fix login (my token is [REDACTED:github-token])');
    expect(work.body).toContain('Please fix it.');
    expect(work.body).toContain('Thanks!');
    const leaked = [...Object.values(SECRET), b64(SECRET.ghp)];
    for (const value of leaked) expect(work.body).not.toContain(value);
    expect(work.body).toContain('[REDACTED:private-key]');
    const events = (await world.store.listEvents(run.runId, { limit: 10 })).items;
    const audit = events.find((e) => e.type === 'secrets.redacted');
    expect(audit?.data).toMatchObject({ source: 'issue', fields: ['title', 'body'], stage: 'plan' });
    expect(audit?.data?.kinds).toEqual(
      expect.arrayContaining([
        'aws-access-key-id',
        'github-token',
        'github-token (base64)',
        'private-key',
        'basic-auth-url',
      ]),
    );
    for (const value of leaked) expect(JSON.stringify(events)).not.toContain(value);
  });

  it('a clean issue is passed through and writes no audit event', async () => {
    const world = makeWorld();
    const run = reviewedRun();
    await world.store.createRun(run);
    const cleaned = await redactText(world.stagePorts, run, 'comment', {
      body: 'Use the existing helper, please.',
    });
    expect(cleaned.body).toBe('Use the existing helper, please.');
    expect((await world.store.listEvents(run.runId, { limit: 10 })).items).toEqual([]);
  });

  it('redaction keeps the text around the secret and merges overlapping finds', () => {
    const { text, findings } = redactSecrets(`a ${SECRET.ghp} b TOKEN=${SECRET.ghp}`);
    expect(text).toBe('a [REDACTED:github-token] b TOKEN=[REDACTED:github-token]');
    expect(findings.map((f) => f.id)).toContain('github-token');
  });
});
