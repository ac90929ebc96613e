/**
 * Jest (`● suite › test`, the message, a code frame, `at` frames) and Vitest (` FAIL  file > suite >
 * test`, the message, `❯ file:line:col` and a code frame, `⎯⎯⎯` between failures).
 */
import { type Failure, frameLocation, indentOf, MAX_FAILURES, MAX_SCAN, messageFrom } from './lines';

const JEST_FRAME = /^\s*>?\s*\d+ \|/;
const JEST_END = /^(?:Test Suites:|Tests:|Summary of all failing tests|(?:PASS|FAIL) )/;

export function parseJest(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  let file: string | undefined;
  for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
    const line = lines[i]!;
    const fail = /^\s*FAIL\s+(\S+)/.exec(line);
    if (fail && !line.includes(' > ')) {
      file = fail[1];
      continue;
    }
    const trimmed = line.trimStart();
    if (!trimmed.startsWith('● ')) continue;
    const title = trimmed.slice(2).trim();
    if (title === 'Console') continue;
    const indent = indentOf(line);
    const message: string[] = [];
    let location: string | undefined;
    let inMessage = true;
    for (let j = i + 1; j < lines.length && j <= i + MAX_SCAN; j++) {
      const l = lines[j]!;
      if (l.trim() !== '' && (indentOf(l) <= indent || JEST_END.test(l))) break;
      if (/^\s+at /.test(l)) {
        inMessage = false;
        const at = frameLocation(l.trim().slice(3));
        if (!location && at && !at.includes('node_modules')) location = at;
        continue;
      }
      if (JEST_FRAME.test(l)) inMessage = false;
      if (inMessage && message.length < 200) message.push(l);
    }
    const id = title === 'Test suite failed to run' && file ? `${file} › ${title}` : title;
    failures.push({
      id,
      message: messageFrom(message),
      ...((location ?? file) ? { location: location ?? file } : {}),
      runner: 'jest',
    });
  }
  return failures;
}

const VITEST_FRAME = /^\s*\d+\|/;

export function parseVitest(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
    // One or more FAIL headers (Vitest groups tests that failed with the same error).
    const headers: Array<{ file: string; id: string }> = [];
    for (; i < lines.length; i++) {
      const m = /^\s*FAIL\s+(.*)$/.exec(lines[i]!);
      if (!m) break;
      const rest = m[1]!.trim();
      const suite = /^(\S+) \[ \S+ \]$/.exec(rest);
      const sep = rest.indexOf(' > ');
      if (suite) headers.push({ file: suite[1]!, id: suite[1]! });
      else if (sep > 0) headers.push({ file: rest.slice(0, sep), id: rest.slice(sep + 3) });
      else break;
    }
    if (headers.length === 0) continue;
    const message: string[] = [];
    let location: string | undefined;
    for (const start = i; i < lines.length && i <= start + MAX_SCAN; i++) {
      const l = lines[i]!;
      const t = l.trim();
      if (t.startsWith('⎯') || /^\s*FAIL\s/.test(l) || /^\s*Test Files\s/.test(l)) break;
      if (t.startsWith('❯ ')) {
        location ??= frameLocation(t);
        continue;
      }
      if (location !== undefined || VITEST_FRAME.test(l)) continue;
      if (message.length < 200) message.push(l);
    }
    i--;
    for (const h of headers) {
      if (failures.length >= MAX_FAILURES) break;
      failures.push({
        id: h.id,
        message: messageFrom(message),
        location: location ?? h.file,
        runner: 'vitest',
      });
    }
  }
  return failures;
}
