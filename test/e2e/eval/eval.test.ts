import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/**
 * `npm run eval -- --tasks DIR --json` offline: a shipped task played by the scripted stand-in is
 * resolved by its hidden tests on the merged head; the same task with a hidden test the change
 * does not satisfy is reported unresolved; the last line is exactly the JSON of SPEC §7.
 */

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('npm run eval', () => {
  it('reports a resolved task and one whose hidden test fails, as one JSON line', async () => {
    const tasks = await mkdtemp(path.join(tmpdir(), 'cf-eval-tasks-'));
    dirs.push(tasks);
    await cp(path.join(ROOT, 'eval/tasks/clamp'), path.join(tasks, 'clamp'), { recursive: true });
    // The same task, but its hidden tests also ask for something the scripted change does not do.
    await cp(path.join(ROOT, 'eval/tasks/clamp'), path.join(tasks, 'clamp-nan'), { recursive: true });
    const hidden = path.join(tasks, 'clamp-nan/hidden-tests/test/hidden/clamp.hidden.test.js');
    await writeFile(
      hidden,
      `${await readFile(hidden, 'utf8')}\ntest('NaN is a TypeError', () => {\n  assert.throws(() => clamp(Number.NaN, 0, 1), TypeError);\n});\n`,
    );

    const { stdout, stderr } = await exec(TSX, ['local/eval/cli.ts', '--tasks', tasks, '--json'], {
      cwd: ROOT,
      timeout: 170_000,
      env: { ...process.env, ANTHROPIC_API_KEY: '' },
    });
    const last = stdout.trim().split('\n').at(-1) ?? '';
    const report = JSON.parse(last) as {
      tasks: Array<Record<string, unknown>>;
      resolvedRate: number;
    };
    expect(Object.keys(report)).toEqual(['tasks', 'resolvedRate']);
    expect(report.tasks.map((t) => Object.keys(t))).toEqual([
      ['id', 'status', 'resolved', 'costUsd', 'turns', 'ms'],
      ['id', 'status', 'resolved', 'costUsd', 'turns', 'ms'],
    ]);
    const [clamp, nan] = report.tasks;
    expect(clamp).toMatchObject({ id: 'clamp', status: 'SUCCEEDED', resolved: true, turns: 7 });
    // The run itself succeeds (its own tests pass and it merges): only the hidden test tells.
    expect(nan).toMatchObject({ id: 'clamp-nan', status: 'SUCCEEDED', resolved: false, turns: 7 });
    for (const task of report.tasks) {
      expect(task.costUsd).toBeGreaterThan(0);
      expect(task.ms).toBeGreaterThan(0);
    }
    expect(report.resolvedRate).toBe(0.5);
    expect(stderr).toContain('hidden tests failed');
    // --json keeps stdout to the result.
    expect(stdout.trim().split('\n')).toHaveLength(1);
  }, 180_000);
});
