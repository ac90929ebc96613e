/**
 * Minitest (Rails' default; `rake test`, `rails test`): after the run, each problem as
 * `  1) Failure:` or `  1) Error:`, then `Class#test_name [file:line]:` (an error has no location
 * there: its backtrace follows the message, indented), then the message up to a blank line
 * (minitest.rb, Minitest::Result#to_s and UnexpectedError#message). Skips are not failures.
 */
import { type Failure, MAX_FAILURES, MAX_SCAN, messageFrom, workspacePath } from './lines';

const LABEL = /^\s*\d+\) (Failure|Error):$/;
const TEST = /^(\S+#\S+)(?: \[(.+):(\d+)\])?:$/;
const BACKTRACE = /^\s{4}(\S+?):(\d+):in /;
const INSTALLED = /\/gems\/|\/lib\/ruby\//;

export function parseMinitest(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  for (let i = 0; i + 1 < lines.length && failures.length < MAX_FAILURES; i++) {
    if (!LABEL.test(lines[i]!)) continue;
    const test = TEST.exec(lines[i + 1]!);
    if (!test) continue;
    const message: string[] = [];
    let location = test[2] ? `${workspacePath(test[2])}:${test[3]}` : undefined;
    let inBacktrace = false;
    let j = i + 2;
    for (; j < lines.length && j <= i + MAX_SCAN && lines[j]!.trim() !== ''; j++) {
      const frame = BACKTRACE.exec(lines[j]!);
      if (frame) {
        inBacktrace = true;
        if (!location && !INSTALLED.test(frame[1]!)) location = `${workspacePath(frame[1]!)}:${frame[2]}`;
        continue;
      }
      if (!inBacktrace && message.length < 200) message.push(lines[j]!);
    }
    failures.push({
      id: test[1]!,
      message: messageFrom(message),
      ...(location ? { location } : {}),
      runner: 'minitest',
    });
    i = j - 1;
  }
  return failures;
}
