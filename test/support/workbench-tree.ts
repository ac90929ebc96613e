import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A generated repository tree for the workbench tests and the grep measurement: `files` source-like
 * files of about `bytesPerFile` bytes each, spread over nested directories, all different. Each
 * file's path is `src/d<NN>/m<NN>/file<NNNNN>.ts` (sorted order is generation order), and each
 * holds `marker(i)` on its line 3 so a test can aim at one file.
 */

export const generatedPath = (i: number): string =>
  `src/d${String(Math.floor(i / 250)).padStart(2, '0')}/m${String(Math.floor(i / 25) % 10).padStart(2, '0')}/file${String(i).padStart(5, '0')}.ts`;

export const marker = (i: number): string => `const id${i} = 'file-${i}';`;

export function generatedContent(i: number, bytesPerFile: number): string {
  const lines = ['// generated', `import { helper } from '../util';`, marker(i)];
  let size = lines.reduce((sum, line) => sum + line.length + 1, 0);
  for (let n = 0; size < bytesPerFile; n++) {
    const line = `export function fn${i}_${n}(value: number): number { return helper(value * ${n}) + ${i}; }`;
    lines.push(line);
    size += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

export async function generateTree(root: string, files: number, bytesPerFile: number): Promise<void> {
  const dirs = new Set<string>();
  for (let i = 0; i < files; i++) dirs.add(join(root, generatedPath(i), '..'));
  await Promise.all([...dirs].map((dir) => mkdir(dir, { recursive: true })));
  for (let start = 0; start < files; start += 100) {
    const batch: Array<Promise<void>> = [];
    for (let i = start; i < Math.min(files, start + 100); i++) {
      batch.push(writeFile(join(root, generatedPath(i)), generatedContent(i, bytesPerFile)));
    }
    await Promise.all(batch);
  }
}

/** Writes `files` (path → content) under `root`, creating directories. */
export async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  }
}
