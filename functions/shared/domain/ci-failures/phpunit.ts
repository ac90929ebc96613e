/**
 * PHPUnit's default printer: `There was 1 failure:` / `There were 2 errors:` (also warnings, which
 * fail the run), then per test `1) Class::method` (` with data set #0 (...)` for a data provider),
 * the message (a diff may follow it, blank lines included), and the trace as bare `/path/File.php:16`
 * lines, deepest first, ahead of the next `2) ...` or the `FAILURES!` / `ERRORS!` summary.
 */
import { type Failure, MAX_FAILURES, MAX_SCAN, messageFrom, workspacePath } from './lines';

const SECTION = /^There (?:was|were) \d+ (failure|error|warning)s?:$/;
const OTHER_SECTION = /^There (?:was|were) \d+ [\w ]+:$|^(?:FAILURES|ERRORS|WARNINGS|OK)\b/;
const HEADER = /^(\d+)\) (\S+::\S+.*)$/;
const TRACE = /^(\S+\.php):(\d+)$/;
const VENDOR = /[/\\]vendor[/\\]|\/usr\/share\/php\//;

export function parsePhpunit(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  let inSection = false;
  for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
    const line = lines[i]!;
    if (SECTION.test(line)) {
      inSection = true;
      continue;
    }
    if (OTHER_SECTION.test(line)) inSection = false;
    const head = inSection ? HEADER.exec(line) : null;
    if (!head) continue;
    const message: string[] = [];
    let location: string | undefined;
    let fallback: string | undefined;
    let j = i + 1;
    for (; j < lines.length && j <= i + MAX_SCAN; j++) {
      const l = lines[j]!;
      if (HEADER.test(l) || SECTION.test(l) || OTHER_SECTION.test(l)) break;
      const frame = TRACE.exec(l);
      if (frame) {
        const at = `${workspacePath(frame[1]!)}:${frame[2]}`;
        fallback ??= at;
        if (!location && !VENDOR.test(frame[1]!)) location = at;
        continue;
      }
      if (fallback === undefined && message.length < 200) message.push(l);
    }
    failures.push({
      id: head[2]!.trim(),
      message: messageFrom(message),
      ...((location ?? fallback) ? { location: location ?? fallback } : {}),
      runner: 'phpunit',
    });
    i = j - 1;
  }
  return failures;
}
