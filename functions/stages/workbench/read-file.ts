import { clipLine, fail, formatBytes } from './output';
import { isSecretPath, repoPath, secretRefusal } from '../../shared/domain/workspace-paths';
import { splitLines } from './text';
import type { Snapshot } from './view';

/**
 * read_file: a window of a text file, `cat -n` style: each line is its number right-aligned in 6
 * columns, a tab, and the text (a line over 2,000 characters is cut with a marker). The window
 * starts at line `offset` (1-based) and holds `limit` lines (default 2,000), fewer when the
 * output would pass its character budget; when more follows, a last line says which lines were
 * shown and where to read on.
 */

export const DEFAULT_READ_LINES = 2000;
export const MAX_LINE_CHARS = 2000;
const OUTPUT_BUDGET_CHARS = 29_000;

export interface ReadFileInput {
  path: string;
  offset?: number;
  limit?: number;
}

export const numbered = (lineNo: number, text: string): string => `${String(lineNo).padStart(6)}\t${text}`;

export async function readFile(snapshot: Snapshot, input: ReadFileInput): Promise<string> {
  const checked = repoPath(input.path);
  if ('error' in checked) return fail(checked.error);
  const path = checked.path;
  if (isSecretPath(path)) return fail(secretRefusal(path));
  const body = await snapshot.body(path);
  if (!body) return fail(snapshot.whyNotAFile(path));
  if (body.kind === 'binary')
    return fail(`${path} is a binary file (${formatBytes(body.size)}); read_file shows text only`);
  if (body.kind === 'too-large') {
    return fail(
      `${path} is too large to read (${formatBytes(body.size)}); use grep with path="${path}" to find lines`,
    );
  }

  const lines = splitLines(body.text);
  const total = lines.length;
  if (total === 0) return `${path} is empty (0 lines)`;
  const offset = input.offset ?? 1;
  const limit = input.limit ?? DEFAULT_READ_LINES;
  if (offset > total) {
    return fail(
      `offset ${offset} is past the end of ${path}, which has ${total} lines (read from offset 1 to ${total})`,
    );
  }

  const shown: string[] = [];
  let chars = 0;
  let last = offset - 1;
  for (let lineNo = offset; lineNo <= total && lineNo < offset + limit; lineNo++) {
    const text = lines[lineNo - 1] as string;
    const line = numbered(lineNo, clipLine(text, MAX_LINE_CHARS));
    if (chars + line.length + 1 > OUTPUT_BUDGET_CHARS && shown.length > 0) break;
    shown.push(line);
    chars += line.length + 1;
    last = lineNo;
  }
  if (last < total) shown.push(`[lines ${offset}-${last} of ${total}; read on with offset=${last + 1}]`);
  return shown.join('\n');
}
