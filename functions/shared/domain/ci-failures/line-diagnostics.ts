/**
 * One-line diagnostics that start with their location, the shape many linters and compilers share:
 * - with a rule code: `path:line:col: CODE message` (flake8 and pycodestyle/pyflakes, ruff's concise
 *   format) or `CODE: message (symbol)` (pylint's default), and RuboCop's `path:line:col: W:
 *   Dept/Cop: message` (`[Correctable] ` before the cop when it can fix it). Every code printed
 *   this way fails the run: such a tool prints only what it was configured to reject.
 * - with a severity: `path:line[:col]: error: message` (mypy, with its `  [code]` suffix; gcc, clang,
 *   javac, swiftc). Only errors: `warning:` lines do not fail a build, and a `note:` below an error
 *   (mypy, gcc; gcc quotes the source line and a caret between them) joins that error's message.
 */
import { type Failure, MAX_FAILURES } from './lines';

const PATH = String.raw`([^\s:]+)`;
const WITH_CODE = new RegExp(String.raw`^${PATH}:(\d+):(\d+): ([A-Z]{1,4}\d{1,5}):? (.+)$`);
const WITH_SEVERITY = new RegExp(String.raw`^${PATH}:(\d+)(?::(\d+))?: (error|fatal error|note): (.+)$`);
const RUBOCOP = new RegExp(
  String.raw`^${PATH}:(\d+):(\d+): [RCWEF]: (?:\[Correctable\] )?([A-Z]\w*/\w+): (.+)$`,
);
const TRAILING_CODE = /^(.*?)\s+\[([a-z][\w-]*)\]$/;
const SOURCE_EXCERPT = /^\s*\d*\s\|/; // gcc's `    6 |   code` and `      |   ^~~~`

export function parseLineDiagnostics(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  let last: Failure | undefined; // the error a following note belongs to
  for (const line of lines) {
    if (failures.length >= MAX_FAILURES) break;
    if (last && SOURCE_EXCERPT.test(line)) continue;
    // `12:30:01: ...` starts with a time, not a path.
    if (!line.includes(': ') || /^\d+:/.test(line)) {
      last = undefined;
      continue;
    }
    const c = WITH_CODE.exec(line) ?? RUBOCOP.exec(line);
    if (c) {
      last = undefined;
      failures.push({
        id: `${c[1]} ${c[4]}`,
        message: c[5]!.trim(),
        location: `${c[1]}:${c[2]}:${c[3]}`,
        runner: 'diagnostic',
      });
      continue;
    }
    const s = WITH_SEVERITY.exec(line);
    if (!s) {
      last = undefined;
      continue;
    }
    const coded = TRAILING_CODE.exec(s[5]!.trim());
    const message = coded ? coded[1]! : s[5]!.trim();
    if (s[4] === 'note') {
      if (last && last.message.split('\n').length < 20) last.message += `\n${line.trim()}`;
      continue;
    }
    last = {
      id: coded ? `${s[1]} ${coded[2]}` : s[1]!,
      message,
      location: s[3] ? `${s[1]}:${s[2]}:${s[3]}` : `${s[1]}:${s[2]}`,
      runner: 'diagnostic',
    };
    failures.push(last);
  }
  return failures;
}
