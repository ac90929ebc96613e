/**
 * node:test, both reporters. spec (`✖ name (1.2ms)` then the indented error and its stack, and again
 * under `✖ failing tests:` with `test at file:line:col`), and TAP (`not ok N - name` with a YAML
 * block whose `error:` is the message; also plain TAP from other producers).
 */
import { type Failure, frameLocation, indentOf, MAX_FAILURES, MAX_SCAN, messageFrom } from './lines';

const SUITE_ONLY = /^'?\d+ subtests? failed'?$/;

function withoutDuration(name: string): string {
  const open = name.lastIndexOf(' (');
  return open > 0 && /^ \(\d+(?:\.\d+)?m?s\)$/.test(name.slice(open)) ? name.slice(0, open) : name;
}

/** The indented body under a spec `✖` line: the message up to the stack, and the first frame. */
function specBody(lines: readonly string[], from: number, indent: number) {
  const message: string[] = [];
  let location: string | undefined;
  let i = from;
  for (; i < lines.length && i < from + MAX_SCAN; i++) {
    const line = lines[i]!;
    if (line.trim() !== '' && indentOf(line) <= indent) break;
    if (/^\s+at /.test(line)) {
      location ??= frameLocation(line.trim().slice(3));
      continue;
    }
    if (location === undefined && message.length < 200) message.push(line);
  }
  return { message: messageFrom(message), location, next: i };
}

export function parseNodeSpec(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  const suites: Array<{ indent: number; name: string }> = [];
  let summaryAt = lines.length;
  for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
    const line = lines[i]!;
    const trimmed = line.trimStart();
    if (trimmed === '✖ failing tests:') {
      summaryAt = i;
      break;
    }
    const indent = line.length - trimmed.length;
    if (trimmed.startsWith('▶ ')) {
      while (suites.length > 0 && suites[suites.length - 1]!.indent >= indent) suites.pop();
      suites.push({ indent, name: withoutDuration(trimmed.slice(2)) });
      continue;
    }
    if (!trimmed.startsWith('✖ ')) continue;
    while (suites.length > 0 && suites[suites.length - 1]!.indent >= indent) suites.pop();
    const body = specBody(lines, i + 1, indent);
    // A suite's own ✖ line has no body (Node 20) or says "N subtests failed".
    if (body.message === '' || SUITE_ONLY.test(body.message)) continue;
    const name = withoutDuration(trimmed.slice(2));
    failures.push({
      id: [...suites.map((s) => s.name), name].join(' > '),
      message: body.message,
      ...(body.location ? { location: body.location } : {}),
      runner: 'node',
    });
  }
  // The closing summary repeats each failure after `test at file:line:col`: take its location,
  // and take the failure itself when the run above was cut off.
  let testAt: string | undefined;
  for (let i = summaryAt + 1; i < lines.length && failures.length <= MAX_FAILURES; i++) {
    const trimmed = lines[i]!.trimStart();
    if (trimmed.startsWith('test at ')) {
      testAt = trimmed.slice(8).trim();
      continue;
    }
    if (!trimmed.startsWith('✖ ')) continue;
    const name = withoutDuration(trimmed.slice(2));
    const body = specBody(lines, i + 1, indentOf(lines[i]!));
    const known = failures.find((f) => f.id === name || f.id.endsWith(` > ${name}`));
    if (known) {
      if (testAt) known.location = testAt;
    } else if (body.message !== '' && !SUITE_ONLY.test(body.message) && failures.length < MAX_FAILURES) {
      const location = testAt ?? body.location;
      failures.push({ id: name, message: body.message, ...(location ? { location } : {}), runner: 'node' });
    }
    testAt = undefined;
  }
  return failures;
}

/** A YAML scalar as TAP writers print it: 'single', "double", plain, or a `|` block below. */
function yamlValue(lines: readonly string[], at: number, raw: string, indent: number): string {
  const value = raw.trim();
  if (value === '|' || value === '|-' || value === '>' || value === '>-') {
    const block: string[] = [];
    for (let i = at + 1; i < lines.length && i <= at + MAX_SCAN; i++) {
      const line = lines[i]!;
      if (line.trim() !== '' && indentOf(line) <= indent) break;
      block.push(line);
    }
    return messageFrom(block);
  }
  if (value.startsWith("'") && value.endsWith("'") && value.length >= 2) {
    return value.slice(1, -1).replaceAll("''", "'");
  }
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
    try {
      return String(JSON.parse(value));
    } catch {
      return value.slice(1, -1);
    }
  }
  return value;
}

export function parseTap(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  const subtests: string[] = [];
  for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
    const line = lines[i]!;
    const trimmed = line.trimStart();
    const indent = line.length - trimmed.length;
    if (trimmed.startsWith('# Subtest: ')) {
      subtests.length = Math.floor(indent / 4);
      subtests[Math.floor(indent / 4)] = trimmed.slice(11);
      continue;
    }
    const head = /^not ok \d+(?: -)? ?(.*)$/.exec(trimmed);
    if (!head) continue;
    let name = head[1]!;
    const directive = name.indexOf(' # ');
    if (directive >= 0) {
      if (/^ # (?:TODO|SKIP)/i.test(name.slice(directive))) continue;
      name = name.slice(0, directive);
    }
    const parents = subtests.slice(0, Math.floor(indent / 4));
    const fields = new Map<string, string>();
    let message = '';
    if (lines[i + 1]?.trim() === '---') {
      // YAML diagnostics, indented two more than the test line, closed by `...`.
      const keyIndent = indentOf(lines[i + 1]!);
      for (let j = i + 2; j < lines.length && j <= i + MAX_SCAN; j++) {
        const l = lines[j]!;
        if (l.trim() === '...' && indentOf(l) === keyIndent) break;
        if (l.trim() !== '' && indentOf(l) < keyIndent) break;
        const field = /^\s*([A-Za-z_]+): ?(.*)$/.exec(l);
        if (field && indentOf(l) === keyIndent)
          fields.set(field[1]!, yamlValue(lines, j, field[2]!, keyIndent));
      }
      if (fields.get('failureType') === 'subtestsFailed') continue;
      const error = fields.get('error') ?? fields.get('message') ?? '';
      const errorName = fields.get('name');
      message = errorName && error && !error.startsWith(errorName) ? `${errorName}: ${error}` : error;
      if (!message) {
        message = ['operator', 'expected', 'actual']
          .filter((k) => fields.has(k))
          .map((k) => `${k}: ${fields.get(k)}`)
          .join('\n');
      }
    } else {
      // Plain TAP: the message is whatever is indented under the test line.
      const body: string[] = [];
      for (let j = i + 1; j < lines.length && j <= i + MAX_SCAN; j++) {
        const l = lines[j]!;
        if (indentOf(l) <= indent || /^\s*(?:not ok|ok)\b/.test(l)) break;
        body.push(l);
      }
      message = messageFrom(body);
    }
    const at = fields.get('location') ?? fields.get('at');
    failures.push({
      id: [...parents, name].join(' > '),
      message: messageFrom(message.split('\n')),
      ...(at ? { location: at } : {}),
      runner: 'tap',
    });
  }
  return failures;
}
