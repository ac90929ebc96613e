import { globMatches, globProblem } from '../../shared/domain/paths';
import { fail } from './output';
import { repoPath } from '../../shared/domain/workspace-paths';
import type { Snapshot } from './view';

/**
 * glob: the current files whose path (relative to `path`, default the root) matches a glob, sorted,
 * capped. Globs use picomatch's syntax (`**`, `*`, `?`, `[…]`, `{a,b}`; dotfiles included) but are
 * matched in linear time by the shared matcher (docs/decisions/0003-linear-time-globs.md): the
 * model's globs can be steered by repository text, and picomatch's regular expressions backtrack.
 */

export const MAX_GLOB_RESULTS = 1000;

export interface GlobInput {
  pattern: string;
  path?: string;
}

export function glob(snapshot: Snapshot, input: GlobInput): string {
  const pattern = input.pattern.replace(/^\.\//, '');
  const problem = globProblem(pattern);
  if (problem) return fail(`pattern ${JSON.stringify(input.pattern)} ${problem}`);
  const scope = repoPath(input.path ?? '', { allowRoot: true });
  if ('error' in scope) return fail(scope.error);
  const dir = scope.path;
  if (!snapshot.isDirectory(dir)) {
    return fail(snapshot.isFile(dir) ? `${dir} is a file, not a directory` : `${dir}: no such directory`);
  }
  const strip = dir === '' ? 0 : dir.length + 1;
  const matches = snapshot.filesUnder(dir).filter((path) => globMatches(pattern, path.slice(strip)));
  const where = dir === '' ? '' : ` under ${dir}`;
  if (matches.length === 0) {
    const hint =
      pattern.includes('/') || pattern.includes('**')
        ? ''
        : ` (a pattern without '/' matches only files directly in the directory; **/${pattern} matches at any depth)`;
    return `No files match ${pattern}${where}${hint}.`;
  }
  const shown = matches.slice(0, MAX_GLOB_RESULTS);
  if (matches.length > shown.length) {
    shown.push(
      `[showing ${shown.length} of ${matches.length} matching paths; ${matches.length - shown.length} more left out: narrow the pattern or path]`,
    );
  }
  return shown.join('\n');
}
