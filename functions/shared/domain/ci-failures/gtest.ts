/**
 * GoogleTest and CTest. GoogleTest prints `[ RUN      ] Suite.Name`, each failed assertion as
 * `path:line: Failure` (`unknown file: Failure` for an exception) and its lines, then
 * `[  FAILED  ] Suite.Name (0 ms)` (a parameterised test adds `, where GetParam() = ...`); the closing
 * list repeats the names alone. CTest without `--output-on-failure` only lists them:
 * `The following tests FAILED:` then `  2 - Suite.Name (Failed)`; those stand in for tests whose
 * GoogleTest output the log does not hold.
 */
import { type Failure, MAX_FAILURES, MAX_SCAN, messageFrom, workspacePath } from './lines';

const RUN = /^\[ RUN {6}\] (\S+)$/;
const END = /^\[ {2}(?:FAILED {2}| {5}OK| SKIPPED)\] (\S+?)(,.*)? \(\d+ ms\)$/;
const FAILURE = /^(?:(\S.*?):(\d+)|(\S.*?)\((\d+)\)|unknown file): Failure$/;
const CTEST_LIST = /^The following tests FAILED:$/;
const CTEST_ROW = /^\s+\d+ - (\S.*?) \(([^)]+)\)$/;

export function parseGtest(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
    if (CTEST_LIST.test(lines[i]!)) {
      for (let j = i + 1; j < lines.length && failures.length < MAX_FAILURES; j++) {
        const row = CTEST_ROW.exec(lines[j]!);
        if (!row) break;
        if (!failures.some((f) => f.id === row[1]))
          failures.push({ id: row[1]!, message: row[2]!, runner: 'ctest' });
      }
      continue;
    }
    const run = RUN.exec(lines[i]!);
    if (!run) continue;
    const message: string[] = [];
    let location: string | undefined;
    let j = i + 1;
    for (; j < lines.length && j <= i + MAX_SCAN; j++) {
      const l = lines[j]!;
      const end = END.exec(l);
      if (end) {
        if (end[1] === run[1] && l.startsWith('[  FAILED  ]')) {
          if (end[2]) message.push(end[2].slice(2)); // where GetParam() = ...
          failures.push({
            id: run[1]!,
            message: messageFrom(message),
            ...(location ? { location } : {}),
            runner: 'gtest',
          });
        }
        break;
      }
      if (RUN.test(l)) break;
      const failure = FAILURE.exec(l);
      if (failure) {
        const file = failure[1] ?? failure[3];
        if (!location && file) location = `${workspacePath(file)}:${failure[2] ?? failure[4]}`;
        if (message.length > 0) message.push('');
        continue;
      }
      if (message.length < 200) message.push(l);
    }
    i = j - 1;
  }
  return failures;
}
