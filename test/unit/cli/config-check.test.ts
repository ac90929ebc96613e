import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cf-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

describe('code-factory config check (in process)', () => {
  it('prints a one-line summary and exits 0 for a valid file', async () => {
    const path = file(
      'ok.yml',
      "allowed_paths: ['src/**']\nbudget_usd: 2\napprovers:\n  - {login: alice, email: alice@example.com}\n",
    );
    const { code, stdout, stderr } = await run('config', 'check', path);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(stdout).toContain('ok:');
    expect(stdout).toContain('budget $2.00/run');
    expect(stdout).toContain('1 approver');
  });

  it('prints each problem as path.to.field: message and exits 1', async () => {
    const path = file(
      'bad.yml',
      "max_files_changed: -3\nallowed_paths: ['.github/factory.yml', '../x/**']\nmodels:\n  planer: x\napprovers:\n  - login: bob\n    email: nope\n",
    );
    const { code, stdout, stderr } = await run('config', 'check', path);
    expect(code).toBe(1);
    const lines = stdout.trim().split('\n');
    expect(lines.map((l) => l.split(':')[0])).toEqual([
      'max_files_changed',
      'allowed_paths[0]',
      'allowed_paths[1]',
      'models.planer',
      'approvers[0].email',
    ]);
    expect(lines[0]).toMatch(
      /^max_files_changed: must be a whole number from 1 to 1000.*\(line 1, column 1\)$/,
    );
    expect(stderr).toContain('5 problems');
  });

  it('prints YAML syntax errors as line L, column C: message', async () => {
    const path = file('syntax.yml', 'trigger_label: factory\nallowed_paths: [src/**\n');
    const { code, stdout } = await run('config', 'check', path);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^line \d+, column \d+: .+/m);
  });

  it('refuses YAML bombs and multi-document files', async () => {
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x]'];
    for (const [p, n] of [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
      ['d', 'e'],
      ['e', 'f'],
      ['f', 'g'],
    ]) {
      bomb.push(`${n}: &${n} [${Array(9).fill(`*${p}`).join(',')}]`);
    }
    const bombResult = await run('config', 'check', file('bomb.yml', `${bomb.join('\n')}\n`));
    expect(bombResult.code).toBe(1);
    expect(bombResult.stdout).toContain('too many YAML aliases');
    const multi = await run('config', 'check', file('multi.yml', 'a: 1\n---\nb: 2\n'));
    expect(multi.code).toBe(1);
    expect(multi.stdout).toContain('exactly one YAML document');
  });

  it('refuses a 5 MB file without reading it into the parser', async () => {
    const path = file('huge.yml', Buffer.alloc(5 * 1024 * 1024, 'a'));
    const started = performance.now();
    const { code, stderr } = await run('config', 'check', path);
    expect(code).toBe(1);
    expect(stderr).toContain('too large');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('refuses missing files, directories and invalid UTF-8 with exit 1', async () => {
    const missing = await run('config', 'check', join(dir, 'nope.yml'));
    expect([missing.code, missing.stderr.includes('no such file')]).toEqual([1, true]);
    const directory = await run('config', 'check', dir);
    expect([directory.code, directory.stderr.includes('directory')]).toEqual([1, true]);
    const binary = await run(
      'config',
      'check',
      file('bin.yml', Buffer.from([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a])),
    );
    expect([binary.code, binary.stderr.includes('UTF-8')]).toEqual([1, true]);
  });

  it('prints JSON with --json', async () => {
    const ok = await run('config', 'check', '--json', file('j.yml', 'max_fix_attempts: 1\n'));
    expect(ok.code).toBe(0);
    const parsed = JSON.parse(ok.stdout) as { ok: boolean; contract: { maxFixAttempts: number } };
    expect(parsed.ok).toBe(true);
    expect(parsed.contract.maxFixAttempts).toBe(1);
    const bad = await run('config', 'check', '--json', file('jb.yml', 'nope: 1\n'));
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, errors: [{ path: 'nope' }] });
  });

  it('answers usage errors with exit 2 and help with exit 0', async () => {
    expect((await run()).code).toBe(2);
    expect((await run('config', 'check')).code).toBe(2);
    expect((await run('bogus')).code).toBe(2);
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('config');
  });
});

describe('code-factory bin', () => {
  it('runs through node cli/bin.js with real exit codes', () => {
    const bin = fileURLToPath(new URL('../../../cli/bin.js', import.meta.url));
    const good = spawnSync(
      process.execPath,
      [bin, 'config', 'check', file('bin-ok.yml', 'budget_usd: 1\n')],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(good.status).toBe(0);
    expect(good.stdout).toContain('ok:');
    const bad = spawnSync(
      process.execPath,
      [bin, 'config', 'check', file('bin-bad.yml', 'budget_usd: -1\n')],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('budget_usd: must be an amount in USD from 0.01 to 500');
  });
});
