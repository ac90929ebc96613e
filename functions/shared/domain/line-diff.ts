import { diffArrays } from 'diff';

/**
 * How much a file's change adds and removes, for the contract's size limits and the secret scan.
 * Counted from a real line diff (Myers, the `diff` package), not by comparing sets of lines, so a
 * line moved or reordered counts as removed and added. Lines end at `\r\n`, `\n` or a lone `\r`
 * (old Mac files; a `\n`-only count would see one line), and keep their terminator when compared,
 * so changing line endings changes lines too.
 */

export interface LineDelta {
  /** The added lines, without their terminators. */
  added: string[];
  removed: number;
  /** UTF-8 bytes of the added lines, terminators included. */
  addedBytes: number;
  /** True when the diff was not computed and the file counts as wholly rewritten (an over-count). */
  wholeFile: boolean;
}

export interface LineDiffOptions {
  /** Stop past this many added + removed lines: the caller's limit is blown anyway. */
  maxEditLength?: number;
  /** Stop after this long (Myers costs O(lines x edits)). */
  timeoutMs?: number;
}

const DEFAULT_MAX_EDIT_LENGTH = 10_000;
const DEFAULT_TIMEOUT_MS = 2000;

/** The lines of `text`, each with its terminator; a last line without one is a line too. */
export function linesOf(text: string): string[] {
  return text.match(/[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+/g) ?? [];
}

const withoutTerminator = (line: string): string => line.replace(/(?:\r\n|\r|\n)$/, '');

/**
 * Lines added and removed from `before` to `after` (undefined = the file does not exist). When the
 * diff would take more than `maxEditLength` edits or `timeoutMs`, the file counts as wholly
 * rewritten (every old line removed, every new line added): it can only over-count.
 */
export function lineDelta(
  before: string | undefined,
  after: string | undefined,
  options: LineDiffOptions = {},
): LineDelta {
  const oldLines = before === undefined ? [] : linesOf(before);
  const newLines = after === undefined ? [] : linesOf(after);
  const parts =
    oldLines.length === 0 || newLines.length === 0
      ? undefined
      : diffArrays(oldLines, newLines, {
          maxEditLength: Math.max(1, options.maxEditLength ?? DEFAULT_MAX_EDIT_LENGTH),
          timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        });
  const wholeFile = parts === undefined && oldLines.length > 0 && newLines.length > 0;
  const addedRaw: string[] = [];
  let removed = 0;
  if (parts) {
    for (const part of parts) {
      if (part.added) for (const line of part.value) addedRaw.push(line);
      else if (part.removed) removed += part.value.length;
    }
  } else {
    for (const line of newLines) addedRaw.push(line);
    removed = oldLines.length;
  }
  let addedBytes = 0;
  for (const line of addedRaw) addedBytes += Buffer.byteLength(line, 'utf8');
  return { added: addedRaw.map(withoutTerminator), removed, addedBytes, wholeFile };
}
