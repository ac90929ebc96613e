import { type PathInput, putContent, writablePath, MAX_WRITE_BYTES } from './changes';
import { nearMissHint } from './near-miss';
import { clipLine, fail, formatBytes, plural } from './output';
import type { Overlay } from './overlay';
import { numbered } from './read-file';
import { lineOf, splitLines } from './text';
import type { Snapshot } from './view';

/**
 * edit_file: replaces old_text by new_text in a file. old_text must occur exactly once unless
 * replace_all is set; otherwise the answer gives the number of occurrences and their lines, or,
 * when there is none, the nearest near miss. In a CRLF file, old_text and new_text written with
 * plain newlines are matched and written with CRLF.
 */

export interface EditFileInput extends PathInput {
  old_text: string;
  new_text: string;
  replace_all?: boolean;
}

const SHOWN_LINE_NUMBERS = 20;
const SNIPPET_CONTEXT = 2;
const SNIPPET_MAX_LINES = 14;

export async function editFile(snapshot: Snapshot, overlay: Overlay, input: EditFileInput): Promise<string> {
  const target = writablePath(snapshot, input.path);
  if ('error' in target) return target.error;
  const { path } = target;
  const body = await snapshot.body(path);
  if (!body) return fail(snapshot.whyNotAFile(path));
  if (body.kind !== 'text')
    return fail(
      `${path} is ${body.kind === 'binary' ? 'a binary file' : 'too large'}; edit_file edits text files`,
    );
  if (input.old_text.length === 0)
    return fail('old_text must not be empty (to write a whole file, use write_file)');
  if (input.old_text === input.new_text)
    return fail('old_text and new_text are the same: nothing would change');

  const text = body.text;
  let oldText = input.old_text;
  let newText = input.new_text;
  let at = occurrences(text, oldText);
  if (at.length === 0 && text.includes('\r\n') && oldText.includes('\n') && !oldText.includes('\r\n')) {
    const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');
    const found = occurrences(text, crlf(oldText));
    if (found.length > 0) {
      oldText = crlf(oldText);
      newText = crlf(newText);
      at = found;
    }
  }

  if (at.length === 0) {
    return fail(`old_text was not found in ${path} (0 occurrences). ${nearMissHint(text, input.old_text)}`);
  }
  const lines = at.map((index) => lineOf(text, index));
  if (at.length > 1 && !input.replace_all) {
    return fail(
      `old_text occurs ${at.length} times in ${path} (${listLines(lines)}); include more surrounding lines ` +
        'in old_text so that it occurs once, or set replace_all=true to replace every occurrence',
    );
  }

  let updated = '';
  let from = 0;
  for (const index of at) {
    updated += text.slice(from, index) + newText;
    from = index + oldText.length;
  }
  updated += text.slice(from);
  const bytes = Buffer.byteLength(updated);
  if (bytes > MAX_WRITE_BYTES)
    return fail(
      `the edited file would be ${formatBytes(bytes)}; a file may be at most ${formatBytes(MAX_WRITE_BYTES)}`,
    );

  const note = await putContent(snapshot, overlay, path, updated);
  const summary = `edited ${path}: replaced ${plural(at.length, 'occurrence')} (${listLines(lines)})${note ? `; ${note}` : ''}`;
  if (at.length > 1) return summary;
  const first = lineOf(updated, at[0] as number);
  const last = first + splitLines(newText).length - 1;
  return `${summary}\n${snippet(updated, first, Math.max(first, last))}`;
}

/** Start indices of the non-overlapping occurrences of `needle`. */
function occurrences(text: string, needle: string): number[] {
  const found: number[] = [];
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) found.push(i);
  return found;
}

function listLines(lines: number[]): string {
  const unique = [...new Set(lines)];
  const shown = unique.slice(0, SHOWN_LINE_NUMBERS).join(', ');
  const more = unique.length > SHOWN_LINE_NUMBERS ? ` and ${unique.length - SHOWN_LINE_NUMBERS} more` : '';
  return `${unique.length === 1 ? 'line' : 'lines'} ${shown}${more}`;
}

/** The edited region with a little context, numbered like read_file. */
function snippet(text: string, first: number, last: number): string {
  const lines = splitLines(text);
  const from = Math.max(1, first - SNIPPET_CONTEXT);
  const to = Math.min(lines.length, last + SNIPPET_CONTEXT, from + SNIPPET_MAX_LINES - 1);
  const shown: string[] = [];
  for (let n = from; n <= to; n++) shown.push(numbered(n, clipLine(lines[n - 1] as string, 200)));
  return shown.length > 0 ? `Lines ${from}-${to} now read:\n${shown.join('\n')}` : '(the file is now empty)';
}
