/**
 * Maven. Surefire/Failsafe print each failing test as `method(Class)  Time elapsed: 0.1 s  <<<
 * FAILURE!` (2.x) or `Class.method -- Time elapsed: 0.1 s <<< ERROR!` (3.x), then its stack trace:
 * the exception's lines, then `\tat` frames (trimmed to the test class by default). The compiler
 * plugin prints `[ERROR] /path/File.java:[line,col] message`, continued by indented lines (listed
 * once under `COMPILATION ERROR :` and again under `Failed to execute goal`: the same failure).
 */
import { type Failure, MAX_FAILURES, MAX_SCAN, messageFrom, workspacePath } from './lines';

const LEVEL = /^\[(?:ERROR|WARNING|INFO)\] ?/;
const TEST =
  /^(?:\[ERROR\] )?(\S.*?)(?: {2}| -- )Time elapsed: [\d.,]+ s(?:ec)? {1,2}<<< (?:FAILURE|ERROR)!$/;
const FRAME = /^\s+at ((?:[\w$]+\.)*)([\w$]+)\.[\w$<>]+\(([\w$]+\.\w+):(\d+)\)$/;
const LIBRARY = /^(?:java|javax|jdk|sun|kotlin|scala|org\.junit|junit|org\.opentest4j|org\.apache\.maven)\./;
const COMPILE = /^\[ERROR\] (\S+\.(?:java|kt|scala|groovy)):\[(\d+),(\d+)\] (.+)$/;

/** `\tat example.SlugTest.m(SlugTest.java:18)` -> `example/SlugTest.java:18` (a source file sits in
 * its package's folder); nothing for a library's frame. */
export function javaFrameLocation(line: string): string | undefined {
  const frame = FRAME.exec(line);
  if (!frame || LIBRARY.test(frame[1]!)) return undefined;
  return `${frame[1]!.replace(/\./g, '/')}${frame[3]}:${frame[4]}`;
}

function testId(name: string): string {
  const m = /^([\w$]+)\(([\w.$]+)\)$/.exec(name); // 2.x: method(Class)
  return m ? `${m[2]}.${m[1]}` : name;
}

function compileError(lines: readonly string[], i: number, m: RegExpExecArray): Failure {
  const message = [m[4]!];
  for (let j = i + 1; j < lines.length && j <= i + 20; j++) {
    const rest = lines[j]!.replace(LEVEL, '');
    if (!/^\s+\S/.test(rest)) break;
    message.push(rest);
  }
  const file = workspacePath(m[1]!);
  return { id: file, message: messageFrom(message), location: `${file}:${m[2]}:${m[3]}`, runner: 'maven' };
}

export function parseMaven(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
    const line = lines[i]!;
    if (!line.includes('<<< ') && !line.startsWith('[ERROR] ')) continue;
    const c = COMPILE.exec(line);
    if (c) {
      failures.push(compileError(lines, i, c));
      continue;
    }
    const t = TEST.exec(line);
    if (!t) continue;
    const message: string[] = [];
    let location: string | undefined;
    let inStack = false;
    let j = i + 1;
    for (; j < lines.length && j <= i + MAX_SCAN; j++) {
      const l = lines[j]!;
      if (l.trim() === '' || LEVEL.test(l)) break;
      if (/^\s+at /.test(l)) {
        inStack = true;
        location ??= javaFrameLocation(l);
        continue;
      }
      if (!inStack && message.length < 200) message.push(l);
    }
    failures.push({
      id: testId(t[1]!.trim()),
      message: messageFrom(message),
      ...(location ? { location } : {}),
      runner: 'maven',
    });
    i = j - 1;
  }
  return failures;
}
