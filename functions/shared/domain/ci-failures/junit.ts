/**
 * JUnit XML (pytest --junitxml, jest-junit, Surefire, ...): each `<testcase>` holding a `<failure>`
 * or `<error>`. Scanned with indexOf over the text rather than parsed, so a log that contains a
 * report (or a report given on its own) costs one pass, and a malformed one yields what it can.
 */
import { type Failure, MAX_FAILURES, messageFrom } from './lines';

const MAX_TAG = 10_000;
const MAX_BODY = 200_000;

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'amp') return '&';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    const code = e.startsWith('#x') ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : '';
  });
}

function attributes(tag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of tag.matchAll(/([A-Za-z_:][-\w:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    out.set(m[1]!, decode(m[2] ?? m[3] ?? ''));
  }
  return out;
}

export function parseJunit(text: string): Failure[] {
  const failures: Failure[] = [];
  let at = text.indexOf('<testcase');
  let closeAt = -1; // the next `</testcase>` found, remembered so a report without any costs one pass
  while (at >= 0 && failures.length < MAX_FAILURES) {
    const tagEnd = text.indexOf('>', at);
    if (tagEnd < 0 || tagEnd - at > MAX_TAG) break;
    const tag = text.slice(at, tagEnd + 1);
    const next = text.indexOf('<testcase', tagEnd);
    if (tag.endsWith('/>')) {
      at = next;
      continue;
    }
    if (closeAt !== Number.POSITIVE_INFINITY && closeAt < tagEnd) {
      const found = text.indexOf('</testcase>', tagEnd);
      closeAt = found < 0 ? Number.POSITIVE_INFINITY : found;
    }
    const limit = next < 0 ? text.length : next;
    const end = Math.min(closeAt, limit);
    const body = text.slice(tagEnd + 1, Math.min(end, tagEnd + 1 + MAX_BODY));
    const problem = /<(failure|error)\b/.exec(body);
    if (problem) {
      const attrs = attributes(tag);
      const pStart = problem.index;
      const pTagEnd = body.indexOf('>', pStart);
      const pTag = body.slice(pStart, pTagEnd < 0 ? body.length : pTagEnd + 1);
      const pAttrs = attributes(pTag.slice(0, MAX_TAG));
      let content = '';
      if (pTagEnd >= 0 && !pTag.endsWith('/>')) {
        const pClose = body.indexOf(`</${problem[1]}>`, pTagEnd);
        content = decode(body.slice(pTagEnd + 1, pClose < 0 ? body.length : pClose));
      }
      const contentLines = content.split('\n');
      const stack = contentLines.findIndex((l) => /^\s+at /.test(l));
      const name = attrs.get('name') ?? '';
      const classname = attrs.get('classname') ?? '';
      const file = attrs.get('file');
      const line = attrs.get('line');
      failures.push({
        id: classname && classname !== name ? `${classname}.${name}` : name,
        message:
          pAttrs.get('message') || messageFrom(stack >= 0 ? contentLines.slice(0, stack) : contentLines),
        ...(file ? { location: line ? `${file}:${line}` : file } : {}),
        runner: 'junit',
      });
    }
    at = next;
  }
  return failures;
}
