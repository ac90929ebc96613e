import type { BaseTree } from './workbench';

/**
 * The repository's instructions for contributors and coding agents, read from the run's base tree
 * (the default branch at admit; never the pending change, which the model writes): AGENTS.md,
 * CLAUDE.md, .github/copilot-instructions.md, CONTRIBUTING.md (at the root, in .github/ or docs/),
 * and a nested AGENTS.md in any folder on the way to the paths the stage works on. Names match
 * case-insensitively. Each file is capped, and so is the whole; a file past the total cap is
 * still named, so nothing is left out silently.
 */

export const GUIDANCE_FILES = [
  'AGENTS.md',
  'CLAUDE.md',
  '.github/copilot-instructions.md',
  'CONTRIBUTING.md',
  '.github/CONTRIBUTING.md',
  'docs/CONTRIBUTING.md',
];
export const MAX_GUIDANCE_FILE_CHARS = 8_000;
export const MAX_GUIDANCE_CHARS = 20_000;
const MAX_NESTED_FOLDERS = 200;

export interface Guidance {
  path: string;
  /** The text as included (cut to the caps), or empty when `omitted` says why it is not. */
  text: string;
  cut: boolean;
  omitted?: string;
}

/** `src/a/b.ts` → `src/AGENTS.md`, `src/a/AGENTS.md` (shallow first). */
function nestedCandidates(paths: readonly string[]): string[] {
  const folders = new Set<string>();
  for (const path of paths) {
    const parts = path.split('/').slice(0, -1);
    for (let depth = 1; depth <= parts.length && folders.size < MAX_NESTED_FOLDERS; depth++)
      folders.add(parts.slice(0, depth).join('/'));
  }
  return [...folders]
    .sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1))
    .map((folder) => `${folder}/AGENTS.md`);
}

export async function readGuidance(base: BaseTree, workPaths: readonly string[] = []): Promise<Guidance[]> {
  const candidates = [...GUIDANCE_FILES, ...nestedCandidates(workPaths)];
  const wanted = new Map(candidates.map((path, order) => [path.toLowerCase(), order]));
  const found: Array<{ path: string; order: number }> = [];
  const seen = new Set<string>();
  for (const path of (await base.index()).files.keys()) {
    const order = wanted.get(path.toLowerCase());
    if (order === undefined || seen.has(path.toLowerCase())) continue;
    seen.add(path.toLowerCase());
    found.push({ path, order });
  }
  found.sort((a, b) => a.order - b.order);

  const out: Guidance[] = [];
  let left = MAX_GUIDANCE_CHARS;
  for (const { path } of found) {
    const body = await base.read(path);
    if (body?.kind !== 'text') {
      out.push({ path, text: '', cut: false, omitted: 'not a readable text file' });
      continue;
    }
    const text = body.text.trim();
    if (!text) continue;
    if (left <= 0) {
      out.push({ path, text: '', cut: false, omitted: 'over the size cap for repository guidance' });
      continue;
    }
    const cap = Math.min(MAX_GUIDANCE_FILE_CHARS, left);
    out.push({ path, text: text.slice(0, cap), cut: text.length > cap });
    left -= Math.min(text.length, cap);
  }
  return out;
}
