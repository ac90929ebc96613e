/**
 * What the model sees: plain text, bounded. Failures are text too, starting with `Error: `, so a
 * caller can set the tool result's is_error flag with `isErrorText`.
 */

export const MAX_OUTPUT_CHARS = 30_000;

export const fail = (message: string): string => `Error: ${message}`;

export const isErrorText = (text: string): boolean => text.startsWith('Error: ');

/** Text over the limit keeps its head and says how much was cut. */
export function bound(text: string, limit = MAX_OUTPUT_CHARS): string {
  if (text.length <= limit) return text;
  const cut = text.lastIndexOf('\n', limit);
  const head = cut > limit * 0.8 ? text.slice(0, cut) : text.slice(0, limit);
  return `${head}\n[output truncated: ${text.length - head.length} more characters not shown; narrow the request]`;
}

/** One line shown in a listing: long lines are cut around `focus` (a column) with a marker. */
export function clipLine(line: string, max: number, focus = 0): string {
  if (line.length <= max) return line;
  const start = focus > max / 2 ? Math.min(focus - Math.floor(max / 4), line.length - max) : 0;
  const before = start > 0 ? `[…${start} characters] ` : '';
  const rest = line.length - start - max;
  const after = rest > 0 ? ` [… line cut: ${line.length} characters in all]` : '';
  return `${before}${line.slice(start, start + max)}${after}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export const plural = (count: number, one: string, many = `${one}s`): string =>
  `${count} ${count === 1 ? one : many}`;
