import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SandboxResult } from '../../functions/shared/ports';
import type { Forge } from '../forge';
import { LocalSandbox } from '../sandbox/runner';
import type { EvalTask } from './tasks';

/**
 * The hidden tests of a task, run on a commit of its repository: the commit is checked out from
 * the forge, the hidden tests are laid over it, and the command runs in the same sandbox the
 * agent's commands use (bubblewrap, no network), outside anything the model can read.
 */

export const HIDDEN_TEST_TIMEOUT_SECONDS = 120;

export const hiddenTestCommand = (task: Pick<EvalTask, 'hiddenTestCommand' | 'hiddenTests'>): string =>
  task.hiddenTestCommand ??
  `node --test ${Object.keys(task.hiddenTests)
    .filter((p) => /\.(c|m)?js$/.test(p))
    .map((p) => `'${p.replace(/'/g, `'\\''`)}'`)
    .join(' ')}`;

export interface HiddenTestResult {
  passed: boolean;
  exitCode: number;
  /** The end of the output, for the report. */
  output: string;
}

export async function runHiddenTests(
  forge: Forge,
  repo: { owner: string; name: string },
  sha: string,
  task: EvalTask,
  options: { allowUnsafe: boolean },
): Promise<HiddenTestResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cf-eval-head-'));
  try {
    await forge.checkout(repo.owner, repo.name, sha, dir);
    const result: SandboxResult = await new LocalSandbox({ allowUnsafe: options.allowUnsafe }).run({
      workspace: {
        baseDir: dir,
        files: Object.entries(task.hiddenTests).map(([file, content]) => ({ path: file, content })),
      },
      command: hiddenTestCommand(task),
      timeoutSeconds: HIDDEN_TEST_TIMEOUT_SECONDS,
      network: false,
    });
    const output = `${result.head}${result.omittedChars ? '\n[…]\n' : ''}${result.tail}`;
    return { passed: result.exitCode === 0, exitCode: result.exitCode, output: output.slice(-4000) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
