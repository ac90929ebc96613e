import { numbered } from './read-file';
import { clipLine } from './output';
import { splitLines } from './text';

/**
 * Why an edit's old_text was not found, told helpfully: where it would match if whitespace were
 * ignored (the usual cause: indentation or tabs), or otherwise the file lines most like the
 * first line of old_text (a stale read, a typo).
 */

const MAX_SCANNED_LINES = 50_000;
/** Longer old_text is not compared line by line (that could take lines x lines steps). */
const MAX_LOOSE_LINES = 200;
const MIN_SIMILARITY = 0.5;
const SHOWN_CANDIDATES = 3;

export function nearMissHint(text: string, oldText: string): string {
  const fileLines = splitLines(text).slice(0, MAX_SCANNED_LINES);
  const wanted = splitLines(oldText).map(squash);
  while (wanted.at(-1) === '') wanted.pop();
  while (wanted[0] === '') wanted.shift();
  if (wanted.length === 0) return 'old_text is only whitespace.';

  const loose = wanted.length <= MAX_LOOSE_LINES ? looseMatch(fileLines.map(squash), wanted) : undefined;
  if (loose !== undefined) {
    return (
      `It would match at line ${loose} if whitespace were ignored: copy the exact text from read_file, ` +
      `including indentation (tabs or spaces), line ends and trailing spaces.\n${numbered(loose, clipLine(fileLines[loose - 1] ?? '', 200))}`
    );
  }

  const first = wanted[0] as string;
  const scored = fileLines
    .map((line, i) => ({ lineNo: i + 1, line, score: similarity(first, squash(line)) }))
    .filter((candidate) => candidate.score >= MIN_SIMILARITY)
    .sort((a, b) => b.score - a.score || a.lineNo - b.lineNo)
    .slice(0, SHOWN_CANDIDATES);
  if (scored.length === 0)
    return 'No line resembles it: read the file again (read_file) to see its current text.';
  return [
    `The nearest lines to the first line of old_text (${JSON.stringify(clipLine(first, 120))}):`,
    ...scored.map((c) => numbered(c.lineNo, clipLine(c.line, 200))),
  ].join('\n');
}

const squash = (line: string): string => line.trim().replace(/\s+/g, ' ');

/** The line where `wanted` (squashed lines) appears in `lines` (squashed), ends allowed partial. */
function looseMatch(lines: string[], wanted: string[]): number | undefined {
  const k = wanted.length;
  for (let i = 0; i + k <= lines.length; i++) {
    if (k === 1) {
      if ((lines[i] as string).includes(wanted[0] as string)) return i + 1;
      continue;
    }
    if (!(lines[i] as string).endsWith(wanted[0] as string)) continue;
    if (!(lines[i + k - 1] as string).startsWith(wanted[k - 1] as string)) continue;
    let inner = true;
    for (let j = 1; j < k - 1 && inner; j++) inner = lines[i + j] === wanted[j];
    if (inner) return i + 1;
  }
  return undefined;
}

/** Dice's coefficient over character bigrams: 1 for equal strings, 0 for nothing in common. */
export function similarity(a: string, b: string): number {
  if (a === b) return 1;
  if (a.length < 2 || b.length < 2) return 0;
  const counts = new Map<string, number>();
  for (let i = 0; i < a.length - 1; i++) {
    const pair = a.slice(i, i + 2);
    counts.set(pair, (counts.get(pair) ?? 0) + 1);
  }
  let shared = 0;
  for (let i = 0; i < b.length - 1; i++) {
    const pair = b.slice(i, i + 2);
    const left = counts.get(pair) ?? 0;
    if (left > 0) {
      shared++;
      counts.set(pair, left - 1);
    }
  }
  return (2 * shared) / (a.length - 1 + (b.length - 1));
}
