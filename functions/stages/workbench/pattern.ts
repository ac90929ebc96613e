/**
 * grep patterns: JavaScript regular expressions, matched line by line. A leading inline flag group
 * such as `(?i)` (PCRE / ripgrep style; letters i, m, s) is accepted and turned into flags.
 * Patterns compile with the `u` flag when they can (so `\p{L}` works) and without it otherwise
 * (so escapes such as `\-` outside a class still work).
 */

export const MAX_PATTERN_LENGTH = 1000;

export interface CompiledPattern {
  /** Scans a whole file (flags g and m): candidates, confirmed per line by `line`. */
  scan: RegExp;
  /** Tests one line. */
  line: RegExp;
  /** Has a lookaround, which can see past a line's end in the whole text: candidates are re-tested. */
  lookaround: boolean;
  /**
   * Has a negative lookaround, which can fail in the whole text where it holds in a line alone
   * (`a(?![\s\S])` at a line's end): such patterns are tested line by line, slower but exact.
   */
  negative: boolean;
}

export function compilePattern(pattern: string, ignoreCase: boolean): CompiledPattern | { error: string } {
  if (pattern.length === 0) return { error: 'pattern must not be empty' };
  if (pattern.length > MAX_PATTERN_LENGTH)
    return { error: `pattern must be at most ${MAX_PATTERN_LENGTH} characters` };
  let source = pattern;
  let flags = ignoreCase ? 'i' : '';
  const inline = /^\(\?([ims]+)\)/.exec(source);
  if (inline) {
    source = source.slice(inline[0].length);
    if (inline[1]?.includes('i') && !flags.includes('i')) flags += 'i';
    if (inline[1]?.includes('s')) flags += 's';
    if (source.length === 0) return { error: 'pattern must not be empty after its (?flags) group' };
  }
  let problem = '';
  for (const unicode of ['u', '']) {
    try {
      return {
        scan: new RegExp(source, `gm${flags}${unicode}`),
        line: new RegExp(source, `m${flags}${unicode}`),
        lookaround: /\(\?<?[=!]/.test(source),
        negative: /\(\?<?!/.test(source),
      };
    } catch (error) {
      problem = (error as Error).message;
    }
  }
  return { error: `invalid regular expression: ${problem}` };
}

/**
 * The 1-based numbers of the lines of `text` that `pattern` matches (at most `limit`). The whole
 * text is scanned once for a candidate, then the candidate's line is tested on its own, so a
 * match never spans lines (as with grep and ripgrep) and lines without a candidate cost nothing
 * beyond the scan. Synchronous: run it under `withDeadline`.
 */
export function matchingLines(
  text: string,
  pattern: CompiledPattern,
  limit = Number.POSITIVE_INFINITY,
): number[] {
  const found: number[] = [];
  const { scan, line: lineTest } = pattern;
  if (pattern.negative) {
    const lines = text.split('\n');
    if (lines.at(-1) === '' && lines.length > 1) lines.pop();
    for (let i = 0; i < lines.length && found.length < limit; i++) {
      if (lineTest.test(lines[i] as string)) found.push(i + 1);
    }
    return found;
  }
  let lineNo = 1;
  let lineStart = 0;
  scan.lastIndex = 0;
  while (found.length < limit) {
    const candidate = scan.exec(text);
    if (!candidate) break;
    for (
      let nl = text.indexOf('\n', lineStart);
      nl !== -1 && nl < candidate.index;
      nl = text.indexOf('\n', nl + 1)
    ) {
      lineNo++;
      lineStart = nl + 1;
    }
    const end = text.indexOf('\n', lineStart);
    const lineEnd = end === -1 ? text.length : end;
    const confirmed =
      candidate.index + candidate[0].length <= lineEnd && !pattern.lookaround
        ? true
        : lineTest.test(text.slice(lineStart, lineEnd));
    if (confirmed) found.push(lineNo);
    if (end === -1) break;
    lineStart = end + 1;
    lineNo++;
    scan.lastIndex = lineStart;
  }
  return found;
}
