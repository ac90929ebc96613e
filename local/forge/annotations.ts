import path from 'node:path';
import type { AnnotationRecord } from './state';

/**
 * The annotations a GitHub Actions job would leave on its check run, from the forge CI's output:
 * - workflow commands (`::error file=…,line=…,title=…::message`, `::warning`, `::notice`), which
 *   is how every annotation of an Actions job is made;
 * - a failing node:test test (TAP, Node 20's default off a TTY, or spec) at the file:line of its
 *   failed assertion, as a test-reporter action (`@reporters/github`) would print it;
 * - Actions' own `Process completed with exit code N.` on `.github` when the step failed.
 * Paths are made relative to the checkout; at most 10 of each level per step, as on Actions.
 */

const MAX_PER_LEVEL = 10;
const MAX_MESSAGE = 4000;
const LEVELS: Record<string, AnnotationRecord['level']> = {
  error: 'failure',
  warning: 'warning',
  notice: 'notice',
};

export function annotationsOf(output: string, workdir: string, exitCode: number): AnnotationRecord[] {
  const lines = output.split('\n').map((line) => line.replace(/\r$/, ''));
  const found = [...workflowCommands(lines), ...nodeTestFailures(lines, workdir)];
  const kept: AnnotationRecord[] = [];
  const perLevel = new Map<string, number>();
  for (const annotation of found) {
    const count = perLevel.get(annotation.level) ?? 0;
    if (count >= MAX_PER_LEVEL) continue;
    perLevel.set(annotation.level, count + 1);
    kept.push(annotation);
  }
  if (exitCode !== 0) kept.push(exitAnnotation(exitCode));
  return kept;
}

export const exitAnnotation = (exitCode: number): AnnotationRecord => ({
  path: '.github',
  startLine: 1,
  endLine: 1,
  level: 'failure',
  title: '',
  message: `Process completed with exit code ${exitCode}.`,
});

// `::error file=src/a.js,line=3,endLine=4,title=T::message`; values are %-escaped.
const COMMAND = /^::(error|warning|notice)(?: ([^:]*))?::(.*)$/;
const unescapeCommand = (value: string) =>
  value
    .replace(/%0D/gi, '\r')
    .replace(/%0A/gi, '\n')
    .replace(/%3A/gi, ':')
    .replace(/%2C/gi, ',')
    .replace(/%25/g, '%');

function workflowCommands(lines: readonly string[]): AnnotationRecord[] {
  const out: AnnotationRecord[] = [];
  for (const line of lines) {
    const match = COMMAND.exec(line.trim());
    if (!match) continue;
    const properties = new Map(
      (match[2] ?? '')
        .split(',')
        .map((pair) => pair.split('='))
        .filter((pair): pair is [string, string] => pair.length === 2)
        .map(([key, value]) => [key.trim(), unescapeCommand(value)]),
    );
    const start = Number(properties.get('line') ?? 1) || 1;
    out.push({
      path: properties.get('file') ?? '.github',
      startLine: start,
      endLine: Number(properties.get('endLine') ?? start) || start,
      level: LEVELS[match[1] as string] ?? 'notice',
      title: properties.get('title') ?? '',
      message: unescapeCommand(match[3] ?? '').slice(0, MAX_MESSAGE),
    });
  }
  return out;
}

// A stack frame's `file:///abs/path.js:12:3` or `/abs/path.js:12:3`.
const FRAME = /(?:file:\/\/)?(\/[^\s():]+):(\d+):\d+/;

/** The first frame of the log lines that is inside the checkout, as a relative path and line. */
function frameIn(lines: readonly string[], workdir: string): { path: string; line: number } | undefined {
  for (const line of lines) {
    const match = FRAME.exec(line);
    if (!match?.[1]) continue;
    const relative = path.relative(workdir, match[1]);
    if (relative.startsWith('..') || path.isAbsolute(relative) || relative.includes('node_modules')) continue;
    return { path: relative.split(path.sep).join('/'), line: Number(match[2]) };
  }
  return undefined;
}

const failure = (title: string, message: string, at: { path: string; line: number }): AnnotationRecord => ({
  path: at.path,
  startLine: at.line,
  endLine: at.line,
  level: 'failure',
  title,
  message: message.trim().slice(0, MAX_MESSAGE),
});

const indent = (line: string) => line.length - line.trimStart().length;

/** Failing node:test tests, from TAP (`not ok N - name` + YAML block) or spec (`✖ name`). */
function nodeTestFailures(lines: readonly string[], workdir: string): AnnotationRecord[] {
  const out: AnnotationRecord[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const trimmed = line.trim();
    if (trimmed === '✖ failing tests:') break; // spec repeats every failure below this line
    const tap = /^not ok \d+ - (.+?)(?: # .*)?$/.exec(trimmed);
    const spec = tap ? undefined : /^✖ (.+?)(?: \([\d.]+m?s\))?$/.exec(trimmed);
    if (!tap && !spec) continue;
    const body: string[] = [];
    for (let j = i + 1; j < lines.length && j < i + 400; j++) {
      const next = lines[j] as string;
      if (next.trim() !== '' && indent(next) <= indent(line)) break;
      body.push(next);
    }
    const message = tap ? tapError(body) : specError(body);
    // The failed assertion's line: TAP's stack (its `location:` is the test's own line), spec's frames.
    const stack = tap ? body.findIndex((l) => /^\s*stack: /.test(l)) : -1;
    const at = (stack >= 0 ? frameIn(body.slice(stack), workdir) : undefined) ?? frameIn(body, workdir);
    // A suite's own line has no error of its own; a test outside the checkout has no place to go.
    if (!message || !at || /^\d+ subtests? failed$/.test(message)) continue;
    out.push(failure((tap?.[1] ?? spec?.[1]) as string, message, at));
  }
  return out;
}

/** The `error:` of a TAP YAML block: `error: 'text'` or a `|-` block. */
function tapError(body: readonly string[]): string | undefined {
  const at = body.findIndex((l) => /^\s*error: /.test(l));
  if (at < 0) return undefined;
  const value = (body[at] as string).replace(/^\s*error: /, '');
  if (!value.startsWith('|')) return value.replace(/^'(.*)'$/, '$1').replace(/''/g, "'");
  const base = indent(body[at] as string);
  const block: string[] = [];
  for (const line of body.slice(at + 1)) {
    if (line.trim() !== '' && indent(line) <= base) break;
    block.push(line.trim());
  }
  return block.join('\n');
}

/** The lines of a spec failure up to its stack trace. */
function specError(body: readonly string[]): string | undefined {
  const end = body.findIndex((l) => /^\s+at /.test(l));
  const text = (end < 0 ? body : body.slice(0, end))
    .map((l) => l.trim())
    .join('\n')
    .trim();
  return text || undefined;
}
