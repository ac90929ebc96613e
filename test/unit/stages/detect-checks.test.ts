import { describe, expect, it } from 'vitest';
import type { SandboxOutcome } from '../../../functions/shared/domain/sandbox-job';
import { detectEnvironment, type RepoRoot } from '../../../functions/stages/detect-checks';
import { setUp } from './agent-harness';

const root = (files: RepoRoot['files'], others: string[] = []): RepoRoot => ({
  files,
  names: new Set([...Object.keys(files), ...others]),
});
const pkg = (test?: string) => JSON.stringify({ name: 'a', scripts: test === undefined ? {} : { test } });

describe('default checks detected from the repository root', () => {
  it('runs npm test with the lock file’s install', () => {
    expect(detectEnvironment(root({ 'package.json': pkg('node --test') }, ['package-lock.json']))).toEqual({
      setup: ['npm ci'],
      checks: ['npm test'],
      from: ['package-lock.json', 'package.json'],
    });
    expect(detectEnvironment(root({ 'package.json': pkg('jest') }, ['yarn.lock']))?.setup).toEqual([
      'yarn install --frozen-lockfile',
    ]);
    expect(detectEnvironment(root({ 'package.json': pkg('vitest') }, ['pnpm-lock.yaml']))?.setup).toEqual([
      'pnpm install --frozen-lockfile',
    ]);
    expect(detectEnvironment(root({ 'package.json': pkg('jest') }))).toEqual({
      setup: [],
      checks: ['npm test'],
      from: ['package.json'],
    });
  });

  it('ignores npm’s placeholder test script, a missing one and an unreadable package.json', () => {
    const placeholder = pkg('echo "Error: no test specified" && exit 1');
    expect(detectEnvironment(root({ 'package.json': placeholder }, ['package-lock.json']))).toBeUndefined();
    expect(detectEnvironment(root({ 'package.json': pkg() }))).toBeUndefined();
    expect(detectEnvironment(root({ 'package.json': pkg('  ') }))).toBeUndefined();
    expect(detectEnvironment(root({ 'package.json': '{ not json' }))).toBeUndefined();
  });

  it('runs pytest for Python with tests only', () => {
    expect(
      detectEnvironment(root({ 'pyproject.toml': '[project]\nname = "a"\n' }, ['tests']))?.checks,
    ).toEqual(['python3 -m pytest -q']);
    expect(
      detectEnvironment(root({ 'pyproject.toml': '[tool.pytest.ini_options]\naddopts = "-q"\n' }))?.checks,
    ).toEqual(['python3 -m pytest -q']);
    expect(detectEnvironment(root({ 'setup.py': 'setup()' }, ['conftest.py']))?.from).toEqual(['setup.py']);
    expect(detectEnvironment(root({ 'pyproject.toml': '[project]\nname = "a"\n' }))).toBeUndefined();
  });

  it('runs go test and cargo test, and every ecosystem present', () => {
    expect(detectEnvironment(root({ 'go.mod': 'module a\n' }))?.checks).toEqual(['go test ./...']);
    expect(detectEnvironment(root({ 'Cargo.toml': '[package]\n' }))?.checks).toEqual(['cargo test']);
    expect(
      detectEnvironment(root({ 'package.json': pkg('jest'), 'go.mod': 'module a\n' }, ['package-lock.json'])),
    ).toEqual({
      setup: ['npm ci'],
      checks: ['npm test', 'go test ./...'],
      from: ['package-lock.json', 'package.json', 'go.mod'],
    });
  });

  it('finds nothing in a repository it does not recognise', () => {
    expect(detectEnvironment(root({}, ['README.md', 'src']))).toBeUndefined();
  });
});

const call = (id: string, name: string, input: unknown) => ({ type: 'tool_use', id, name, input });
const submit = (id: string) =>
  call(id, 'submit_change', { status: 'COMPLETE', summary: 'Did it', commit_message: 'Add it' });
const failing: SandboxOutcome = {
  exitCode: 1,
  timedOut: false,
  head: 'not ok 1 - fails on the base too\n',
  tail: '',
  omittedChars: 0,
  durationMs: 800,
};

describe('detected checks at implement time', () => {
  const files = {
    'package.json': JSON.stringify({ scripts: { test: 'node --test' } }),
    'package-lock.json': '{}',
    'src/index.js': 'export {};\n',
  };

  it('are recorded, run with the detected setup, and advise once without ever stopping the run', async () => {
    const { store, runId, answer, ran } = await setUp({ files, environment: { checkAttempts: 1 } });
    const first = await answer([submit('s-1')], 'tool_use');
    // The detected setup is not cached yet: the setup function runs first.
    expect(first.pointer.outcome).toBe('sandbox-setup');
    expect(first.pointer.sandbox?.commands.map((c) => c.command)).toEqual(['npm test']);
    expect(first.pointer.sandbox?.setup?.commands.map((c) => c.command)).toEqual(['npm ci']);
    const detected = store.events.get(runId)?.filter((e) => e.type === 'sandbox.checks-detected') ?? [];
    expect(detected).toHaveLength(1);
    expect(detected[0]?.data).toMatchObject({ setup: ['npm ci'], checks: ['npm test'] });

    const advised = await ran([[failing]]);
    expect(advised.pointer.outcome).toBe('continue');
    expect(String(advised.reply[0]?.content)).toMatch(
      /^Not submitted yet: checks detected from the repository/,
    );
    expect(String(advised.reply[0]?.content)).toContain('fails on the base too');

    // Past check_attempts (1 here) for declared checks, detected ones still let the change through.
    await answer([submit('s-2')], 'tool_use');
    const through = await ran([[failing]]);
    expect(through.pointer.outcome).toBe('complete');
    expect(String(through.reply[0]?.content)).toContain('detected checks still fail');
    const run = store.runs.get(runId);
    expect(run?.error).toBeUndefined();
    expect(run?.sandboxCheckFailures).toBe(0);
    expect(store.events.get(runId)?.filter((e) => e.type === 'sandbox.checks-detected')).toHaveLength(1);
  });

  it('are not detected when factory.yml declares checks', async () => {
    const { store, runId, answer } = await setUp({ files, environment: { checks: ['make check'] } });
    const { pointer } = await answer([submit('s-1')], 'tool_use');
    expect(pointer.sandbox?.commands.map((c) => c.command)).toEqual(['make check']);
    expect(store.events.get(runId)?.map((e) => e.type) ?? []).not.toContain('sandbox.checks-detected');
  });
});
