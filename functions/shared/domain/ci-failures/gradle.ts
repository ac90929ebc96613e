/**
 * Gradle's test logging: `example.SlugTest > slugifyJoinsWordsWithDashes FAILED` (nested classes and
 * JUnit 5 display names add ` > ` levels), then, indented, the exception. Gradle's default
 * `exceptionFormat` (SHORT) names only its class and where the test class was: `    X at
 * SlugTest.java:18` (and `Caused by: Y at ...`); with `exceptionFormat 'full'` it prints the message
 * and the stack (`        at ...` frames).
 */
import { type Failure, indentOf, MAX_FAILURES, MAX_SCAN, messageFrom } from './lines';
import { javaFrameLocation } from './maven';

const HEADER = /^(\S.*? > .+) FAILED$/;
const SHORT = /^(.+?) at ([\w$.-]+\.\w+):(\d+)$/;

/** `SlugTest.java:18` under the test class's package folder when the file is that class's own. */
function inPackage(testId: string, file: string, line: string): string {
  const cls = testId.split(' > ')[0]!;
  const dot = cls.lastIndexOf('.');
  const own = file.replace(/\.\w+$/, '') === cls.slice(dot + 1).split('$')[0];
  return own && dot > 0 ? `${cls.slice(0, dot).replace(/\./g, '/')}/${file}:${line}` : `${file}:${line}`;
}

export function parseGradle(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
    const head = HEADER.exec(lines[i]!);
    if (!head) continue;
    const id = head[1]!;
    const message: string[] = [];
    let location: string | undefined;
    let inStack = false;
    let j = i + 1;
    for (; j < lines.length && j <= i + MAX_SCAN; j++) {
      const l = lines[j]!;
      if (l.trim() === '' || indentOf(l) < 4) break;
      const t = l.trim();
      if (t.startsWith('at ')) {
        inStack = true;
        location ??= javaFrameLocation(l);
        continue;
      }
      const short = SHORT.exec(t);
      if (short && !t.includes(': ')) {
        location ??= inPackage(id, short[2]!, short[3]!);
        message.push(short[1]!);
        continue;
      }
      if (!inStack && message.length < 200) message.push(l);
    }
    failures.push({
      id,
      message: messageFrom(message),
      ...(location ? { location } : {}),
      runner: 'gradle',
    });
    i = j - 1;
  }
  return failures;
}
