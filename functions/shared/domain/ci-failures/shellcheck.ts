/**
 * ShellCheck's default (tty) format: `In scripts/x.sh line 3:`, the source line(s), then under each
 * finding a caret line `     ^-- SC2086 (info): message` (`^---^` spans the word); the caret's
 * column is the finding's. Every finding at or above --severity (style by default) fails the run.
 * The `-f gcc` format is a one-line diagnostic (line-diagnostics.ts).
 */
import { type Failure, MAX_FAILURES } from './lines';

const BLOCK = /^In (\S.*) line (\d+):$/;
const FINDING = /^(\s*)\^-*\^?-* (SC\d+) \((?:error|warning|info|style)\): (.+)$/;

export function parseShellcheck(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
    const block = BLOCK.exec(lines[i]!);
    if (!block) continue;
    for (let j = i + 1; j < lines.length && j < i + 50 && lines[j]!.trim() !== ''; j++) {
      const f = FINDING.exec(lines[j]!);
      if (!f || failures.length >= MAX_FAILURES) continue;
      failures.push({
        id: `${block[1]} ${f[2]}`,
        message: f[3]!,
        location: `${block[1]}:${block[2]}:${f[1]!.length + 1}`,
        runner: 'shellcheck',
      });
    }
  }
  return failures;
}
