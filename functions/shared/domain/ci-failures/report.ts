/** What the coding model reads: the extracted failures first, then the log's tail, both bounded. */
import type { Failure } from './lines';

export interface ExtractedFailures {
  failures: Failure[];
  /** True when more failures were recognised (or may have been) than the MAX_FAILURES kept. */
  truncated: boolean;
  /** With no failures recognised: the lines around the first error-looking line. */
  firstError?: string;
  /** The log's last lines (TAIL_LINES at most), cleaned. */
  tail: string;
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => (l === '' ? l : by + l))
    .join('\n');
}

/** The failures, numbered, each with its message; stops before maxChars and says how many it left out. */
export function renderFailures(extracted: ExtractedFailures, maxChars: number): string {
  const { failures, truncated, firstError } = extracted;
  if (failures.length === 0) {
    const text = firstError
      ? `No failing test or diagnostic was recognised; the first error in the log:\n${firstError}`
      : 'No failing test, diagnostic or error line was recognised in the log.';
    return clip(text, maxChars);
  }
  const count = `${failures.length}${truncated ? ' (or more)' : ''}`;
  const head = `${count} failure${failures.length === 1 ? '' : 's'} extracted from the CI log:`;
  const parts = [head];
  let used = head.length;
  let shown = 0;
  for (const [i, f] of failures.entries()) {
    const title = `${i + 1}. [${f.runner}] ${f.id}${f.location ? ` (${f.location})` : ''}`;
    const entry = f.message ? `${title}\n${indent(f.message, '   ')}` : title;
    if (used + entry.length + 1 > maxChars - 60 && shown > 0) break;
    parts.push(clip(entry, maxChars - 60));
    used += entry.length + 1;
    shown++;
  }
  if (failures.length > shown) parts.push(`[... ${failures.length - shown} more not shown]`);
  return parts.join('\n');
}

/** The last lines of the log that fit in maxChars, cut at a line boundary. */
export function renderTail(extracted: ExtractedFailures, maxChars: number): string {
  const lines = extracted.tail === '' ? 0 : extracted.tail.split('\n').length;
  const head = `Log tail (last ${lines} lines):`;
  const room = Math.max(0, maxChars - head.length - 40);
  let tail = extracted.tail;
  if (tail.length > room) {
    const cut = tail.slice(tail.length - room);
    const nl = cut.indexOf('\n');
    tail = `[... earlier lines cut ...]\n${nl >= 0 ? cut.slice(nl + 1) : cut}`;
  }
  return `${head}\n${tail}`;
}

/** Failures first (at most 60% of maxChars), then as much of the log's tail as fits. */
export function failureReport(extracted: ExtractedFailures, options: { maxChars?: number } = {}): string {
  const maxChars = options.maxChars ?? 12_000;
  const failures = renderFailures(extracted, Math.floor(maxChars * 0.6));
  return `${failures}\n\n${renderTail(extracted, maxChars - failures.length - 2)}`;
}

function clip(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(0, maxChars - 16))}\n[... cut ...]`;
}
