import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { hiddenTestCommand } from '../../../local/eval/hidden-tests';
import { loadTask, loadTasks } from '../../../local/eval/tasks';

const exec = promisify(execFile);
const TASKS = fileURLToPath(new URL('../../../eval/tasks', import.meta.url));

/** Writes the files under dir. */
async function writeTree(dir: string, files: Record<string, string>): Promise<void> {
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), content);
  }
}

const dirs: string[] = [];
const tempDir = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cf-eval-unit-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('the shipped evaluation tasks', () => {
  it('load, and the stand-in has a script for all but the real-model one', async () => {
    const tasks = await loadTasks(TASKS);
    expect(tasks.length).toBeGreaterThanOrEqual(3);
    const scripted = tasks.filter((t) => t.scenario).map((t) => t.id);
    expect(scripted).toEqual(expect.arrayContaining(['chunk-fix', 'clamp', 'slugify']));
    expect(tasks.find((t) => t.id === 'parse-duration')?.scenario).toBeUndefined();
  });

  // A hidden test that passes on the snapshot would call a task resolved with nothing done.
  it.each(['chunk-fix', 'clamp', 'parse-duration', 'slugify'])(
    "%s's hidden tests fail on its snapshot, and its own tests pass there",
    async (id) => {
      const task = await loadTask(path.join(TASKS, id));
      const dir = await tempDir();
      await writeTree(dir, task.repo);
      await exec('node', ['--test'], { cwd: dir, timeout: 30_000 });
      await writeTree(dir, task.hiddenTests);
      const hidden = await exec('bash', ['-c', hiddenTestCommand(task)], { cwd: dir, timeout: 30_000 }).then(
        () => 0,
        (error: { code?: number }) => error.code ?? -1,
      );
      expect(hidden).not.toBe(0);
    },
    60_000,
  );
});

describe('loading a task', () => {
  it('names the field of an invalid task.json', async () => {
    const root = await tempDir();
    const dir = path.join(root, 'broken');
    await cp(path.join(TASKS, 'clamp'), dir, { recursive: true });
    await writeFile(path.join(dir, 'task.json'), JSON.stringify({ title: '', body: 'x', extra: 1 }));
    await expect(loadTask(dir)).rejects.toThrow(/title: .*\n.*Unrecognized key.*extra/s);
  });

  it('refuses a task without hidden tests, and a folder name unsafe as a repository name', async () => {
    const root = await tempDir();
    await cp(path.join(TASKS, 'clamp'), path.join(root, 'no-hidden'), { recursive: true });
    await rm(path.join(root, 'no-hidden/hidden-tests'), { recursive: true });
    await mkdir(path.join(root, 'no-hidden/hidden-tests'));
    await expect(loadTask(path.join(root, 'no-hidden'))).rejects.toThrow(/hidden-tests is empty/);
    await cp(path.join(TASKS, 'clamp'), path.join(root, 'Bad Name'), { recursive: true });
    await expect(loadTask(path.join(root, 'Bad Name'))).rejects.toThrow(/its name must match/);
  });

  it('runs the hidden test files with node --test unless the task names a command', () => {
    expect(hiddenTestCommand({ hiddenTests: { 'test/a.test.js': '', 'fixtures/x.json': '' } })).toBe(
      "node --test 'test/a.test.js'",
    );
    expect(hiddenTestCommand({ hiddenTests: {}, hiddenTestCommand: 'npm test' })).toBe('npm test');
  });
});
