/**
 * File bodies as the tools see them: text (UTF-8), binary (a NUL byte in the first 8,000 bytes,
 * git's rule), or too large to handle. Lines split at `\n`; a trailing `\r` is not shown.
 */

export const MAX_FILE_BYTES = 20 * 1024 * 1024;
const BINARY_SNIFF_BYTES = 8000;

export type FileBody =
  | { kind: 'text'; text: string; size: number }
  | { kind: 'binary'; size: number }
  | { kind: 'too-large'; size: number };

export function bodyOfBytes(bytes: Buffer): FileBody {
  if (bytes.length > MAX_FILE_BYTES) return { kind: 'too-large', size: bytes.length };
  if (bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return { kind: 'binary', size: bytes.length };
  return { kind: 'text', text: bytes.toString('utf8'), size: bytes.length };
}

export function bodyOfText(text: string): FileBody {
  const size = Buffer.byteLength(text);
  if (size > MAX_FILE_BYTES) return { kind: 'too-large', size };
  if (text.slice(0, BINARY_SNIFF_BYTES).includes('\0')) return { kind: 'binary', size };
  return { kind: 'text', text, size };
}

/** The lines of a text: a final newline ends the last line rather than starting an empty one. */
export function splitLines(text: string): string[] {
  if (text.length === 0) return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map(stripCr);
}

export const stripCr = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);

/** The 1-based line number of character `index` in `text`. */
export function lineOf(text: string, index: number): number {
  let line = 1;
  for (let at = text.indexOf('\n'); at !== -1 && at < index; at = text.indexOf('\n', at + 1)) line++;
  return line;
}
