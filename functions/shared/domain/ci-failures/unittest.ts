/**
 * Python's unittest (and runners that print its report: Django's, `python setup.py test`). Each
 * failure is `======` (70), `FAIL: test_x (module.Class.test_x)` or `ERROR: ...`, `------`, then
 * the traceback (Lib/unittest/runner.py, printErrorList). Before 3.11 the parentheses hold
 * `module.Class` only; a subtest adds ` [msg]` or ` (param=1)`. The message is what follows the
 * traceback's last frame; the location is its deepest frame outside the Python installation.
 */
import { type Failure, MAX_FAILURES, MAX_SCAN, messageFrom, workspacePath } from './lines';

const SEPARATOR1 = /^={40,}$/;
const SEPARATOR2 = /^-{40,}$/;
const HEADER = /^(FAIL|ERROR|UNEXPECTED SUCCESS): (\S+) \(([\w.]+)\)(.*)$/;
const FRAME = /^ {2}File "(.+)", line (\d+)/;
const INSTALLED = /\/lib\/python[\d.]*\/|[/\\](?:site|dist)-packages[/\\]/;

function testId(name: string, where: string, rest: string): string {
  const full = where.endsWith(`.${name}`) ? where : `${where}.${name}`;
  return `${full}${rest}`.trim();
}

/** The traceback's message (after its last frame) and the deepest frame of the project's own code. */
function readTraceback(body: readonly string[]) {
  let lastFrame = -1;
  let location: string | undefined;
  let fallback: string | undefined;
  for (const [k, l] of body.entries()) {
    const f = FRAME.exec(l);
    if (!f) continue;
    lastFrame = k;
    fallback = `${workspacePath(f[1]!)}:${f[2]}`;
    if (!INSTALLED.test(f[1]!)) location = fallback;
  }
  let from = lastFrame + 1;
  // The frame's code line and ^^^ go, but a SyntaxError's own `File "x.py", line 5` (no `, in f`)
  // is part of the error: its code line and caret show where.
  const syntax = lastFrame >= 0 && !/, in /.test(body[lastFrame]!);
  while (!syntax && lastFrame >= 0 && from < body.length && body[from]!.startsWith('    ')) from++;
  return { message: messageFrom(body.slice(from)), location: location ?? fallback };
}

export function parseUnittest(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  for (let i = 0; i + 1 < lines.length && failures.length < MAX_FAILURES; i++) {
    if (!SEPARATOR1.test(lines[i]!)) continue;
    const h = HEADER.exec(lines[i + 1]!);
    if (!h) continue;
    let j = i + 2;
    while (j < lines.length && j < i + 6 && !SEPARATOR2.test(lines[j]!)) j++; // a docstring line
    const body: string[] = [];
    for (j++; j < lines.length && j <= i + MAX_SCAN; j++) {
      if (SEPARATOR1.test(lines[j]!) || SEPARATOR2.test(lines[j]!)) break;
      body.push(lines[j]!);
    }
    const { message, location } = readTraceback(body);
    failures.push({
      id: testId(h[2]!, h[3]!, h[4]!),
      message: message || h[1]!,
      ...(location ? { location } : {}),
      runner: 'unittest',
    });
    i = j - 1;
  }
  return failures;
}
