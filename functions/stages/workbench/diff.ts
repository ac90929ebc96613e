import { type StructuredPatchHunk as Hunk, structuredPatch } from 'diff';
import { fail, plural } from './output';
import { isSecretPath, isUnder, repoPath } from '../../shared/domain/workspace-paths';
import type { Snapshot } from './view';

/**
 * diff: the pending changes against the base tree as a unified diff (git's layout: a
 * `diff --git` header, `new file` / `deleted file` lines, `---`/`+++`, `@@` hunks with 3 lines of
 * context), for every changed file or those under `path`, in path order. Hunks come from the
 * `diff` package's structuredPatch; when that takes too long (a huge rewrite), the file is shown
 * as one hunk replacing all its lines.
 */

export interface DiffInput {
  path?: string;
}

const CONTEXT_LINES = 3;
const DIFF_TIMEOUT_MS = 1000;

export async function diff(snapshot: Snapshot, input: DiffInput): Promise<string> {
  const scope = repoPath(input.path ?? '', { allowRoot: true });
  if ('error' in scope) return fail(scope.error);
  const dir = scope.path;
  const changes = [...snapshot.changes.values()]
    .filter((change) => isUnder(change.path, dir))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  if (changes.length === 0) {
    const known =
      dir === '' || snapshot.isFile(dir) || snapshot.isDirectory(dir) || snapshot.index.files.has(dir);
    if (!known) return fail(`${dir}: no such file or directory`);
    return dir === '' ? 'No pending changes.' : `No pending changes under ${dir}.`;
  }
  const parts: string[] = [];
  for (const change of changes) {
    const { path } = change;
    if (isSecretPath(path)) {
      parts.push(`diff --git a/${path} b/${path}\n(not shown: ${path} holds secrets by convention)`);
      continue;
    }
    const base = await snapshot.baseBody(path);
    if (base && base.kind !== 'text') {
      parts.push(
        `diff --git a/${path} b/${path}\nBinary or oversized file ${path} ${change.deleted ? 'deleted' : 'changed'}`,
      );
      continue;
    }
    const before = base?.text;
    const after = change.deleted ? undefined : change.content;
    parts.push(fileDiff(path, before, after));
  }
  return [`${plural(changes.length, 'file')} with pending changes:`, ...parts].join('\n');
}

function fileDiff(path: string, before: string | undefined, after: string | undefined): string {
  const header = [`diff --git a/${path} b/${path}`];
  if (before === undefined) header.push('new file');
  if (after === undefined) header.push('deleted file');
  if (before !== undefined && after !== undefined && before === after) {
    return `${header.join('\n')}\n(no difference: the pending content equals the base version)`;
  }
  header.push(before === undefined ? '--- /dev/null' : `--- a/${path}`);
  header.push(after === undefined ? '+++ /dev/null' : `+++ b/${path}`);
  const oldText = before ?? '';
  const newText = after ?? '';
  // New and deleted files are one hunk (jsdiff wrongly marks a deleted file's last line as
  // having no newline); so is a rewrite too big to diff in time.
  const patch =
    before === undefined || after === undefined
      ? undefined
      : structuredPatch(`a/${path}`, `b/${path}`, oldText, newText, undefined, undefined, {
          context: CONTEXT_LINES,
          timeout: DIFF_TIMEOUT_MS,
        });
  const hunks = patch?.hunks ?? [wholeFileHunk(oldText, newText)];
  return [...header, ...hunks.flatMap(hunkLines)].join('\n');
}

/** A hunk as jsdiff's formatPatch writes it (an empty side starts one line lower: `-0,0`). */
function hunkLines(hunk: Hunk): string[] {
  const oldStart = hunk.oldLines === 0 ? hunk.oldStart - 1 : hunk.oldStart;
  const newStart = hunk.newLines === 0 ? hunk.newStart - 1 : hunk.newStart;
  return [`@@ -${oldStart},${hunk.oldLines} +${newStart},${hunk.newLines} @@`, ...hunk.lines];
}

function wholeFileHunk(oldText: string, newText: string): Hunk {
  const side = (text: string, mark: string) => {
    if (text === '') return [];
    const lines = text
      .replace(/\n$/, '')
      .split('\n')
      .map((line) => `${mark}${line}`);
    return text.endsWith('\n') ? lines : [...lines, '\\ No newline at end of file'];
  };
  const removed = side(oldText, '-');
  const added = side(newText, '+');
  const count = (lines: string[]) => lines.filter((line) => !line.startsWith('\\')).length;
  return {
    oldStart: 1,
    oldLines: count(removed),
    newStart: 1,
    newLines: count(added),
    lines: [...removed, ...added],
  };
}
