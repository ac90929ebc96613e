/**
 * The log as lines a parser can read: GitHub Actions timestamps and `##[...]` markers, ANSI colours
 * and other control characters removed. Everything here is bounded: the log is cut to its last
 * MAX_LOG_CHARS, each line to MAX_LINE_CHARS, so no parser ever sees an unbounded line.
 */

/** One failing test or diagnostic pulled out of a log. */
export interface Failure {
  /** What failed: a test's name (with its suite path), or a file and rule/code for a diagnostic. */
  id: string;
  /** The assertion or error message, without the stack trace. */
  message: string;
  /** file:line[:col] when the runner says where. */
  location?: string;
  /**
   * Which parser recognised it: node, tap, jest, vitest, mocha, pytest, unittest, rspec, minitest,
   * phpunit, maven, gradle, go, cargo, gtest, ctest, junit, tsc, eslint, biome, shellcheck,
   * diagnostic.
   */
  runner: string;
}

export const MAX_LOG_CHARS = 10_000_000;
export const MAX_LINE_CHARS = 2_000;
export const MAX_FAILURES = 50;
export const MAX_MESSAGE_LINES = 20;
export const MAX_MESSAGE_CHARS = 1_500;
/** How far below a failure's first line a parser looks for the rest of it. */
export const MAX_SCAN = 400;

/** Cleaned log: `lines` are cut to MAX_LINE_CHARS; `text` keeps whole lines, when there is XML to read. */
export interface CleanLog {
  lines: string[];
  text: string;
}

const ACTIONS_TIMESTAMPS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z ?/gm;
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing terminal escapes is the point
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b[@-Z\\-_]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f]+/g;
const MARKER = /^##\[([a-z]+)\]/;

export function cleanLog(log: string): CleanLog {
  let source = log.length > MAX_LOG_CHARS ? log.slice(log.length - MAX_LOG_CHARS) : log;
  if (source.charCodeAt(0) === 0xfeff) source = source.slice(1);
  // Whole-text passes first (one regex run over the text is far cheaper than one per line).
  source = source.replace(ACTIONS_TIMESTAMPS, '').replace(ANSI, '');
  const keepWhole = source.includes('<testcase');
  const lines: string[] = [];
  const whole: string[] = [];
  for (let line of source.split('\n')) {
    if (line.includes('\r')) {
      // A carriage return inside a line is a progress bar redrawing itself: the last frame wins.
      if (line.endsWith('\r')) line = line.slice(0, -1);
      line = line.slice(line.lastIndexOf('\r') + 1);
    }
    if (CONTROL.test(line)) line = line.replace(CONTROLS, '');
    if (line.startsWith('##[')) {
      // ##[group]Run npm test -> "Run npm test"; ##[endgroup] goes; ##[error]text -> "text".
      const marker = MARKER.exec(line);
      if (marker?.[1] === 'endgroup') continue;
      if (marker) line = line.slice(marker[0].length);
    }
    if (keepWhole) whole.push(line);
    lines.push(line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS) : line);
  }
  return { lines, text: keepWhole ? whole.join('\n') : '' };
}

export function indentOf(line: string): number {
  let i = 0;
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  return i;
}

/** Lines joined into a message: blank edges dropped, common indentation removed, capped. */
export function messageFrom(lines: readonly string[]): string {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start]!.trim() === '') start++;
  while (end > start && lines[end - 1]!.trim() === '') end--;
  const kept = lines.slice(start, Math.min(end, start + MAX_MESSAGE_LINES));
  const indent = Math.min(...kept.filter((l) => l.trim() !== '').map(indentOf));
  const text = kept
    .map((l) => l.slice(Math.min(indent, indentOf(l))).trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n');
  const more = end - start > MAX_MESSAGE_LINES ? '\n[...]' : '';
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)} [...]` : text + more;
}

/** `file:line:col` at the end of a stack frame (`at fn (file:1:2)`, `at file:1:2`, `❯ fn file:1:2`). */
export function frameLocation(line: string): string | undefined {
  let frame = line.trim();
  if (frame.endsWith(')')) {
    const open = frame.lastIndexOf('(');
    if (open < 0) return undefined;
    frame = frame.slice(open + 1, -1);
  } else {
    const space = frame.lastIndexOf(' ');
    frame = frame.slice(space + 1);
  }
  const m = /^(.*?):(\d+)(?::(\d+))?$/.exec(frame);
  if (!m || m[1] === '' || m[1]!.startsWith('node:')) return undefined;
  return workspacePath(frame);
}

// A GitHub runner's checkout, GITHUB_WORKSPACE: /home/runner/work/<repo>/<repo> (hosted Linux),
// /Users/runner/work/... (macOS), D:\a\<repo>\<repo> (Windows), /__w/<repo>/<repo> (a job in a
// container), <runner>/_work/<repo>/<repo> (self-hosted).
const WORKSPACE =
  /^(?:\/home\/runner\/work|\/Users\/runner\/work|\/__w|[^\s]*?\/_work)\/([^/]+)\/\1\/|^[A-Za-z]:\\a\\([^\\]+)\\\2\\/;

/** A path as the repository knows it: no `file://`, no runner workspace prefix. */
export function workspacePath(path: string): string {
  return path.replace(/^file:\/\//, '').replace(WORKSPACE, '');
}
