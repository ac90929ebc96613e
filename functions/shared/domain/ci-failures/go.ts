/**
 * go test: `--- FAIL: TestName (0.00s)` with the test's log lines indented under it (`file_test.go:12:
 * message`), subtests nested as `TestName/case`, panics as `panic: ...` lines; and build errors
 * (`# package` then `file.go:line:col: message`).
 */
import { type Failure, indentOf, MAX_FAILURES, MAX_SCAN, messageFrom } from './lines';

const FAIL = /^(\s*)--- FAIL: (\S+) \(/;
const RESULT = /^\s*(?:--- (?:FAIL|PASS|SKIP)|=== (?:RUN|PAUSE|CONT|NAME)|FAIL\b|ok\s|PASS$)/;
const COMPILE = /^(\S+\.go):(\d+):(\d+): (.+)$/;

export function parseGo(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
    const line = lines[i]!;
    if (/^# \S+(?: \[\S+\])?$/.test(line)) {
      for (let j = i + 1; j < lines.length && failures.length < MAX_FAILURES; j++) {
        const m = COMPILE.exec(lines[j]!);
        if (!m) break;
        failures.push({ id: m[1]!, message: m[4]!, location: `${m[1]}:${m[2]}:${m[3]}`, runner: 'go' });
      }
      continue;
    }
    const head = FAIL.exec(line);
    if (!head) continue;
    const indent = head[1]!.length;
    const body: string[] = [];
    for (let j = i + 1; j < lines.length && j <= i + MAX_SCAN; j++) {
      const l = lines[j]!;
      if (RESULT.test(l)) break;
      if (l.startsWith('panic: ')) {
        body.push(l.replace(/ \[recovered\]$/, ''));
        break;
      }
      if (indentOf(l) <= indent && l.trim() !== '') break;
      body.push(l);
    }
    let location: string | undefined;
    const first = body.findIndex((l) => l.trim() !== '');
    if (first >= 0) {
      const at = /^(\s*)(\S+\.go:\d+): (.*)$/.exec(body[first]!);
      if (at) {
        location = at[2];
        body[first] = `${at[1]}${at[3]}`;
      }
    }
    failures.push({
      id: head[2]!,
      message: messageFrom(body),
      ...(location ? { location } : {}),
      runner: 'go',
    });
  }
  // A parent test fails because a subtest did: it says nothing of its own.
  return failures.filter((f) => f.message !== '' || !failures.some((g) => g.id.startsWith(`${f.id}/`)));
}
