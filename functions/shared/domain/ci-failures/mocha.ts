/**
 * Mocha: every built-in console reporter (spec, dot, list, progress...) ends with the same list
 * after `  N failing` (lib/reporters/base.js, Base.list): `  1) suite` with the rest of the title
 * path on lines of its own, the last ending in `:`, then the message (only its first line
 * indented: a multi-line message is printed as it is), Mocha's `+ expected - actual` diff when the
 * error carries one, and the stack, each frame indented `      at `.
 */
import { type Failure, frameLocation, indentOf, MAX_FAILURES, MAX_SCAN, messageFrom } from './lines';

const FAILING = /^ {2}(\d+) failing$/;
const HEADER = /^ {2}(\d+)\) (.+)$/;
const FRAME = /^\s+at /;

export function parseMocha(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  let expected = 0;
  let i = 0;
  for (; i < lines.length; i++) {
    const m = FAILING.exec(lines[i]!);
    if (m) {
      expected = Number(m[1]);
      break;
    }
  }
  for (i++; i < lines.length && failures.length < Math.min(expected, MAX_FAILURES); i++) {
    const head = HEADER.exec(lines[i]!);
    if (!head) continue;
    const title = [head[2]!.trim()];
    while (!title[title.length - 1]!.endsWith(':') && i + 1 < lines.length && title.length < 20) {
      title.push(lines[++i]!.trim());
    }
    title[title.length - 1] = title[title.length - 1]!.replace(/:$/, '');
    const message: string[] = [];
    let started = false;
    let dedent = 0;
    let location: string | undefined;
    let inStack = false;
    let blanks = 0;
    const start = i;
    for (i++; i < lines.length && i <= start + MAX_SCAN; i++) {
      const l = lines[i]!;
      if (HEADER.test(l) || (blanks >= 2 && l.trim() !== '')) break;
      blanks = l.trim() === '' ? blanks + 1 : 0;
      if (FRAME.test(l)) {
        const at = frameLocation(l.trim().slice(3));
        if (!location && at && !at.includes('node_modules')) location = at;
        inStack = true;
        continue;
      }
      if (inStack || message.length >= 200) continue;
      // Mocha indents the message's first line and its own diff, not the message's other lines.
      const t = l.trim();
      if (!started) {
        started = t !== '';
        message.push(t);
        continue;
      }
      if (t === '+ expected - actual') dedent = indentOf(l);
      message.push(l.slice(Math.min(indentOf(l), dedent)));
    }
    i--;
    failures.push({
      id: title.join(' > '),
      message: messageFrom(message),
      ...(location ? { location } : {}),
      runner: 'mocha',
    });
  }
  return failures;
}
