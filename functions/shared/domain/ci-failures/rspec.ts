/**
 * RSpec's progress and documentation formatters list failures under `Failures:` (rspec-core's
 * ExceptionPresenter): `  1) Full description`, then, indented, `Failure/Error: <the failing line>`,
 * the message, and the backtrace as `# ./path:line:in ...` lines. The `Failed examples:` lines
 * that follow (`rspec ./spec/x_spec.rb:9 # description`) only repeat them.
 */
import { type Failure, indentOf, MAX_FAILURES, MAX_SCAN, messageFrom, workspacePath } from './lines';

const HEADER = /^( +)(\d+)\) (.+)$/;
const BACKTRACE = /^\s+# (\S+?):(\d+)(?::in |$)/;
const INSTALLED = /\/gems\/|\/lib\/ruby\//;

export function parseRspec(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  const from = lines.indexOf('Failures:');
  if (from < 0) return failures;
  for (let i = from + 1; i < lines.length && failures.length < MAX_FAILURES; i++) {
    const line = lines[i]!;
    if (line !== '' && indentOf(line) === 0) break; // `Finished in ...`
    const head = HEADER.exec(line);
    if (!head) continue;
    const indent = head[1]!.length;
    const message: string[] = [];
    let location: string | undefined;
    let fallback: string | undefined;
    let j = i + 1;
    for (; j < lines.length && j <= i + MAX_SCAN; j++) {
      const l = lines[j]!;
      if (l.trim() !== '' && indentOf(l) <= indent) break;
      const frame = BACKTRACE.exec(l);
      if (frame) {
        const at = `${workspacePath(frame[1]!.replace(/^\.\//, ''))}:${frame[2]}`;
        fallback ??= at;
        if (!location && !INSTALLED.test(frame[1]!)) location = at;
        continue;
      }
      if (fallback === undefined && message.length < 200) message.push(l);
    }
    failures.push({
      id: head[3]!.trim(),
      message: messageFrom(message),
      ...((location ?? fallback) ? { location: location ?? fallback } : {}),
      runner: 'rspec',
    });
    i = j - 1;
  }
  return failures;
}
