import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MemoryOverlay, runWorkbenchTool, Workspace } from '../functions/stages/workbench';
import { generatedPath, generateTree } from '../test/support/workbench-tree';
import { median } from './stats';

export interface WorkbenchBench {
  files: number;
  megabytes: number;
  /** The first grep of a fresh base tree: index, read every file, search. */
  firstGrepMs: number;
  /** Whole-repo grep once the tree is in memory (median of `rounds`). */
  grepMs: number;
  /** read_file of the last 2,000 lines of a 20,000-line file (median). */
  readFileMs: number;
  /** Ten different greps answered concurrently, as one model turn's parallel calls (median). */
  tenParallelGrepsMs: number;
}

/** SPEC §8 on a 5,000-file (50 MB) repository: grep < 1 s, read_file < 200 ms, ten greps < 5 s. */
export async function benchWorkbench(
  options: { files?: number; bytesPerFile?: number; rounds?: number } = {},
) {
  const files = options.files ?? 5_000;
  const bytesPerFile = options.bytesPerFile ?? 10_000;
  const rounds = options.rounds ?? 5;
  const root = await mkdtemp(path.join(tmpdir(), 'bench-workbench-'));
  try {
    await generateTree(root, files, bytesPerFile);
    const longLines = Array.from({ length: 20_000 }, (_, i) => `line ${i + 1}`).join('\n');
    const overlay = new MemoryOverlay([{ path: 'long.txt', deleted: false, content: longLines }]);
    const workspace = Workspace.fromDirectory(root, overlay);
    const time = async (work: () => Promise<unknown>) => {
      const started = performance.now();
      await work();
      return performance.now() - started;
    };
    const target = generatedPath(Math.floor(files * 0.98));
    const grep = (pattern: string) => runWorkbenchTool(workspace, 'grep', { pattern });
    const firstGrepMs = await time(() => grep(`file-${Math.floor(files * 0.98)}'`));
    const grepMs: number[] = [];
    const readMs: number[] = [];
    const parallelMs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      grepMs.push(await time(() => grep(`id${Math.floor(files * 0.98)} =`)));
      readMs.push(
        await time(() => runWorkbenchTool(workspace, 'read_file', { path: 'long.txt', offset: 18_001 })),
      );
      parallelMs.push(
        await time(() => Promise.all(Array.from({ length: 10 }, (_, i) => grep(`fn${i * 7}_${round}\\(`)))),
      );
    }
    if (!(await grep(`id${Math.floor(files * 0.98)} =`)).includes(target))
      throw new Error('the bench grep did not find its target');
    return {
      files,
      megabytes: (files * bytesPerFile) / 1e6,
      firstGrepMs,
      grepMs: median(grepMs),
      readFileMs: median(readMs),
      tenParallelGrepsMs: median(parallelMs),
    } satisfies WorkbenchBench;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
