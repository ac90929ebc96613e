/**
 * RSpec's progress and documentation formatters list failures under `Failures:` (rspec-core's
 * ExceptionPresenter): `  1) Full description`, then, indented, `Failure/Error: <the failing line>`,
 * the message, and the backtrace as `# ./path:line:in ...` lines. The `Failed examples:` lines
 * that follow (`rspec ./spec/x_spec.rb:9 # description`) only repeat them. An error outside any
 * example is `An error occurred while loading ./spec/x_spec.rb.` and the same body at column 0.
 */
import { type Failure, indentOf, MAX_FAILURES, MAX_SCAN, messageFrom, workspacePath } from './lines';

const HEADER = /^( +)(\d+)\) (.+)$/;
const BACKTRACE = /^\s*# (\S+?):(\d+)(?::in |$)/;
const INSTALLED = /\/gems\/|\/lib\/ruby\//;
// rspec-core's `An error occurred while loading ./spec/x_spec.rb.`, `... in a `before(:suite)` hook.`
const OUTSIDE = /^(An error occurred (?:while loading \S+|in an? .+ hook))\.$/;
const OUTSIDE_END = /^(?:An error occurred |No examples found\.|Finished in |Run options:|\d+ examples?, )/;

/** A failure's body from `from` on, up to `end(line)`: the message, then the backtrace's first frame. */
function readBody(lines: readonly string[], from: number, end: (line: string) => boolean) {
  const message: string[] = [];
  let location: string | undefined;
  let fallback: string | undefined;
  let j = from;
  for (; j < lines.length && j < from + MAX_SCAN; j++) {
    const l = lines[j]!;
    if (end(l)) break;
    const frame = BACKTRACE.exec(l);
    if (frame) {
      const at = `${workspacePath(frame[1]!.replace(/^\.\//, ''))}:${frame[2]}`;
      fallback ??= at;
      if (!location && !INSTALLED.test(frame[1]!)) location = at;
      continue;
    }
    if (fallback === undefined && message.length < 200) message.push(l);
  }
  const at = location ?? fallback;
  return { message: messageFrom(message), ...(at ? { location: at } : {}), next: j };
}

export function parseRspec(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  let inFailures = false;
  for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
    const line = lines[i]!;
    if (line === 'Failures:') {
      inFailures = true;
      continue;
    }
    // Outside any example (a spec file that does not load, a failing suite hook), at column 0.
    const outside = OUTSIDE.exec(line);
    if (outside) {
      const { message, location, next } = readBody(lines, i + 1, (l) => OUTSIDE_END.test(l));
      failures.push({ id: outside[1]!, message, ...(location ? { location } : {}), runner: 'rspec' });
      i = next - 1;
      continue;
    }
    if (!inFailures) continue;
    if (line !== '' && indentOf(line) === 0) {
      inFailures = false; // `Finished in ...`
      continue;
    }
    const head = HEADER.exec(line);
    if (!head) continue;
    const indent = head[1]!.length;
    const { message, location, next } = readBody(
      lines,
      i + 1,
      (l) => l.trim() !== '' && indentOf(l) <= indent,
    );
    failures.push({ id: head[3]!.trim(), message, ...(location ? { location } : {}), runner: 'rspec' });
    i = next - 1;
  }
  return failures;
}
