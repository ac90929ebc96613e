import { globMatches, globProblem } from '../../shared/domain/paths';
import { mapLimit } from './concurrency';
import { DeadlineExceeded, withDeadline } from './deadline';
import { clipLine, fail, plural } from './output';
import { type CompiledPattern, compilePattern, matchingLines } from './pattern';
import {
  isSecretPath,
  isUnder,
  isVendoredPath,
  repoPath,
  secretRefusal,
} from '../../shared/domain/workspace-paths';
import { type FileBody, stripCr } from './text';
import type { Snapshot } from './view';

/**
 * grep: a regular expression over the workspace's files (base tree with pending changes), line by
 * line, in path order. Skips binary files, files over the size limit, vendored paths
 * (node_modules, .git, *.min.js; unless `path` points inside them) and files holding secrets.
 * All matching runs under one time budget, so a pathological pattern ends in an error text.
 */

export type GrepMode = 'files_with_matches' | 'content' | 'count';

export interface GrepInput {
  pattern: string;
  path?: string;
  glob?: string;
  ignore_case?: boolean;
  output_mode?: GrepMode;
  context?: number;
  head_limit?: number;
}

export const DEFAULT_HEAD_LIMIT = 100;
export const DEFAULT_GREP_TIMEOUT_MS = 3000;
const GREP_LINE_CHARS = 500;
const BATCH_FILES = 256;
const IO_CONCURRENCY = 32;

interface FileHits {
  path: string;
  text: string;
  lines: number[];
}

export async function grep(
  snapshot: Snapshot,
  input: GrepInput,
  timeoutMs = DEFAULT_GREP_TIMEOUT_MS,
): Promise<string> {
  const mode = input.output_mode ?? 'files_with_matches';
  const headLimit = input.head_limit ?? DEFAULT_HEAD_LIMIT;
  const context = mode === 'content' ? (input.context ?? 0) : 0;
  const pattern = compilePattern(input.pattern, input.ignore_case ?? false);
  if ('error' in pattern) return fail(pattern.error);

  const scope = repoPath(input.path ?? '', { allowRoot: true });
  if ('error' in scope) return fail(scope.error);
  const dir = scope.path;
  if (snapshot.isFile(dir) && isSecretPath(dir)) return fail(secretRefusal(dir));
  if (!snapshot.isFile(dir) && !snapshot.isDirectory(dir)) {
    const link = snapshot.linkAbove(dir);
    return fail(link ? `${link.path} ${link.reason}` : `${dir}: no such file or directory`);
  }
  if (input.glob !== undefined) {
    const problem = globProblem(input.glob);
    if (problem) return fail(`glob ${JSON.stringify(input.glob)} ${problem}`);
  }

  const secrets: string[] = [];
  const tooLarge: string[] = [];
  const searchVendored = isVendoredPath(dir);
  const candidates = snapshot.filesUnder(dir).filter((path) => {
    if (!searchVendored && isVendoredPath(path)) return false;
    if (input.glob !== undefined && !globFilter(input.glob, path, dir)) return false;
    if (isSecretPath(path)) {
      secrets.push(path);
      return false;
    }
    return true;
  });

  const hits: FileHits[] = [];
  const perFile = mode === 'files_with_matches' ? 1 : Number.POSITIVE_INFINITY;
  let budget = timeoutMs;
  try {
    // The next batch loads while this one is searched; a load failure surfaces when it is awaited.
    let next = loadBatch(snapshot, candidates.slice(0, BATCH_FILES));
    for (let start = 0; start < candidates.length; start += BATCH_FILES) {
      const bodies = await next;
      next = loadBatch(snapshot, candidates.slice(start + BATCH_FILES, start + 2 * BATCH_FILES));
      next.catch(() => undefined);
      const began = performance.now();
      withDeadline(budget, () => {
        bodies.forEach((body, i) => {
          const path = candidates[start + i] as string;
          if (body?.kind === 'too-large') tooLarge.push(path);
          if (body?.kind !== 'text') return;
          const lines = matchingLines(body.text, pattern, perFile);
          if (lines.length > 0) hits.push({ path, text: body.text, lines });
        });
      });
      budget -= performance.now() - began;
    }
    const notes = skippedNotes(secrets, tooLarge);
    if (hits.length === 0)
      return [`No matches (${plural(candidates.length, 'file')} searched).`, ...notes].join('\n');
    const listing = withDeadline(budget, () => render(mode, hits, pattern, headLimit, context));
    return [...listing, ...notes].join('\n');
  } catch (error) {
    if (!(error instanceof DeadlineExceeded)) throw error;
    return fail(
      `the pattern ran for more than ${timeoutMs} ms without finishing (catastrophic backtracking?). ` +
        'Simplify it (avoid nested quantifiers such as (a+)+ and overlapping alternatives) or narrow path/glob.',
    );
  }
}

const loadBatch = (snapshot: Snapshot, paths: string[]): Promise<Array<FileBody | undefined>> =>
  mapLimit(paths, IO_CONCURRENCY, (path) => snapshot.body(path));

/** A glob without a slash matches file names; with one, the path (from the root or from `path`). */
function globFilter(glob: string, path: string, dir: string): boolean {
  if (!glob.includes('/')) return globMatches(glob, path.slice(path.lastIndexOf('/') + 1));
  if (globMatches(glob, path)) return true;
  return dir !== '' && isUnder(path, dir) && path !== dir && globMatches(glob, path.slice(dir.length + 1));
}

function render(
  mode: GrepMode,
  hits: FileHits[],
  pattern: CompiledPattern,
  headLimit: number,
  context: number,
) {
  if (mode !== 'content') {
    const shown = hits
      .slice(0, headLimit)
      .map((hit) => (mode === 'count' ? `${hit.path}:${hit.lines.length}` : hit.path));
    const left = hits.length - shown.length;
    if (left > 0) {
      shown.push(
        `[showing ${shown.length} of ${hits.length} matching files; ${left} more left out: narrow path or glob, or raise head_limit]`,
      );
    }
    return shown;
  }
  const total = hits.reduce((sum, hit) => sum + hit.lines.length, 0);
  const out: string[] = [];
  let selected = 0;
  let shownMatches = 0;
  for (const hit of hits) {
    if (selected >= headLimit) break;
    const picked = hit.lines.slice(0, headLimit - selected);
    selected += picked.length;
    const matches = new Set(hit.lines);
    const lines = hit.text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    let previous = -1;
    for (const lineNo of picked) {
      const from = Math.max(lineNo - context, previous + 1, 1);
      const to = Math.min(lineNo + context, lines.length);
      if (context > 0 && from > previous + 1 && out.length > 0) out.push('--');
      for (let n = from; n <= to; n++) {
        const text = stripCr(lines[n - 1] as string);
        const isMatch = matches.has(n);
        if (isMatch) shownMatches++;
        const focus = text.length > GREP_LINE_CHARS && isMatch ? (pattern.line.exec(text)?.index ?? 0) : 0;
        out.push(
          `${hit.path}${isMatch ? ':' : '-'}${n}${isMatch ? ':' : '-'}${clipLine(text, GREP_LINE_CHARS, focus)}`,
        );
      }
      previous = to;
    }
  }
  const left = total - shownMatches;
  if (left > 0) {
    out.push(
      `[showing ${shownMatches} of ${total} matching lines; ${left} more left out: narrow path or glob, or raise head_limit]`,
    );
  }
  return out;
}

function skippedNotes(secrets: string[], tooLarge: string[]): string[] {
  const list = (paths: string[]) =>
    paths.length > 5 ? `${paths.slice(0, 5).join(', ')} and ${paths.length - 5} more` : paths.join(', ');
  const notes: string[] = [];
  if (secrets.length > 0) notes.push(`[not searched, as they hold secrets by convention: ${list(secrets)}]`);
  if (tooLarge.length > 0) notes.push(`[not searched, as they are over 20 MB: ${list(tooLarge)}]`);
  return notes;
}
