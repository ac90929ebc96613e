import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import type { Scenario } from '../model/scenarios';
import { loadModelScript } from '../model/script-file';

/**
 * An evaluation task (docs/agent.md, "Evaluating a model"): a folder holding
 * - `task.json`: the issue (title, body) and how to judge it;
 * - `repo/`: the repository snapshot, committed to a fresh forge repository's `main`;
 * - `hidden-tests/`: test files laid over the run's final head, never shown to the model;
 * - `model-script.json` (optional): what the scripted stand-in plays for it (the `--model-script`
 *   format); a task without one needs a real model and is skipped offline.
 */

export const TaskFile = z.strictObject({
  title: z.string().min(1).max(256),
  body: z.string().max(20_000),
  /** One line for people reading the results. */
  description: z.string().max(500).optional(),
  /** The forge's CI command for the repository; null or absent: no CI (the run proceeds with a warning). */
  ciCommand: z.string().min(1).max(500).nullable().optional(),
  /** Run at the head's root after the hidden tests are laid over it; default `node --test <hidden files>`. */
  hiddenTestCommand: z.string().min(1).max(500).optional(),
  /** Posted as the author's reply when the plan asks questions. */
  answer: z.string().min(1).max(8000).optional(),
  /** How long the run may take before it counts as unresolved (default 600). */
  timeoutSeconds: z.number().int().min(10).max(7200).optional(),
});
export type TaskFile = z.infer<typeof TaskFile>;

export interface EvalTask extends TaskFile {
  id: string;
  dir: string;
  /** Repository-relative path to text, for the snapshot and for the hidden tests. */
  repo: Record<string, string>;
  hiddenTests: Record<string, string>;
  /** What the stand-in plays, when the task ships a model script. */
  scenario?: Scenario;
}

/** Task ids are folder names that are safe in a repository name. */
const TASK_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Bounds on what a snapshot may hold, so a wrong --tasks directory fails fast. */
const MAX_FILES = 500;
const MAX_FILE_BYTES = 1_000_000;

/** Every regular file under `root`, by POSIX path relative to it (symbolic links are refused). */
export async function readTree(root: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  let count = 0;
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === '.git') continue;
        await walk(full, relative);
      } else if (entry.isFile()) {
        count += 1;
        if (count > MAX_FILES) throw new Error(`${root} holds more than ${MAX_FILES} files`);
        if ((await stat(full)).size > MAX_FILE_BYTES)
          throw new Error(`${full} is over ${MAX_FILE_BYTES} bytes`);
        files[relative] = await readFile(full, 'utf8');
      } else {
        throw new Error(`${full} is not a regular file or a directory`);
      }
    }
  };
  await walk(root, '');
  return files;
}

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

export async function loadTask(dir: string): Promise<EvalTask> {
  const id = path.basename(dir);
  if (!TASK_ID.test(id)) throw new Error(`task folder ${dir}: its name must match ${TASK_ID}`);
  const source = path.join(dir, 'task.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(source, 'utf8'));
  } catch (error) {
    throw new Error(`${source}: ${(error as Error).message}`);
  }
  const parsed = TaskFile.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `${source} is not a valid task:\n${parsed.error.issues
        .map((i) => `  ${i.path.join('.') || '(file)'}: ${i.message}`)
        .join('\n')}`,
    );
  const repo = await readTree(path.join(dir, 'repo'));
  if (Object.keys(repo).length === 0) throw new Error(`${dir}/repo is empty`);
  const hiddenTests = await readTree(path.join(dir, 'hidden-tests'));
  if (Object.keys(hiddenTests).length === 0) throw new Error(`${dir}/hidden-tests is empty`);
  const scriptFile = path.join(dir, 'model-script.json');
  const scenario = (await exists(scriptFile)) ? await loadModelScript(scriptFile) : undefined;
  return { ...parsed.data, id, dir, repo, hiddenTests, ...(scenario ? { scenario } : {}) };
}

/** The tasks of a directory: each sub-folder with a task.json, by name. */
export async function loadTasks(root: string): Promise<EvalTask[]> {
  const entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory());
  const tasks: EvalTask[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const dir = path.join(root, entry.name);
    if (await exists(path.join(dir, 'task.json'))) tasks.push(await loadTask(dir));
  }
  if (tasks.length === 0) throw new Error(`no tasks under ${root} (a task is a folder with a task.json)`);
  return tasks;
}
