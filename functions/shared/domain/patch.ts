/**
 * GitHub's per-file `patch` text (unified hunks, as `GET /pulls/{n}/files` gives them) read for a
 * review: which lines a review comment may sit on (GitHub refuses the whole review otherwise), and
 * the patch with file line numbers, so a model can name the line it means.
 */

export interface PatchLines {
  /** Head-side line numbers of added and context lines. */
  RIGHT: Set<number>;
  /** Base-side line numbers of removed and context lines. */
  LEFT: Set<number>;
}

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/;

/** Every hunk line with its side and line number(s); header lines come with neither. */
function* walk(
  patch: string,
): Generator<{ text: string; kind: 'header' | 'add' | 'del' | 'ctx'; oldLine?: number; newLine?: number }> {
  let oldLine = 0;
  let newLine = 0;
  let inHunk = false;
  for (const text of patch.split('\n')) {
    const hunk = HUNK.exec(text);
    if (hunk) {
      inHunk = true;
      oldLine = Number(hunk[1]);
      newLine = Number(hunk[2]);
      yield { text, kind: 'header' };
    } else if (!inHunk || text.startsWith('\\')) {
      yield { text, kind: 'header' };
    } else if (text.startsWith('+')) {
      yield { text, kind: 'add', newLine: newLine++ };
    } else if (text.startsWith('-')) {
      yield { text, kind: 'del', oldLine: oldLine++ };
    } else {
      yield { text, kind: 'ctx', oldLine: oldLine++, newLine: newLine++ };
    }
  }
}

export function commentableLines(patch: string | undefined): PatchLines {
  const lines: PatchLines = { RIGHT: new Set(), LEFT: new Set() };
  for (const line of walk(patch ?? '')) {
    if (line.newLine !== undefined) lines.RIGHT.add(line.newLine);
    if (line.oldLine !== undefined) lines.LEFT.add(line.oldLine);
  }
  return lines;
}

/**
 * The patch with each line's head-side number (removed lines show their base-side number after
 * `-`), e.g. `  12 + return a - b;`. The numbers are what a review comment's `line` takes.
 */
export function numberedPatch(patch: string): string {
  const out: string[] = [];
  for (const line of walk(patch)) {
    if (line.kind === 'header') out.push(line.text);
    else if (line.kind === 'del') out.push(`${`-${line.oldLine}`.padStart(6)} ${line.text}`);
    else out.push(`${String(line.newLine).padStart(6)} ${line.text}`);
  }
  return out.join('\n');
}

/** Short ranges of commentable head-side lines (`3-9, 14-20`), for feedback to the model. */
export function describeLines(lines: Set<number>): string {
  const sorted = [...lines].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
    ranges.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return ranges.join(', ') || 'none';
}
