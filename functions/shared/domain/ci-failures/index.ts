/**
 * Failure extraction from CI logs (issue 17). `extractFailures` strips the GitHub Actions wrapping
 * (timestamps, `##[group]`/`##[error]` markers) and ANSI colours, then asks each runner's parser
 * for the failing tests or diagnostics it recognises: node:test (spec and TAP), Jest, Vitest, Mocha,
 * pytest, unittest, RSpec, Minitest, PHPUnit, Maven (Surefire and javac), Gradle, go test, cargo
 * test, GoogleTest and CTest, JUnit XML, tsc, ESLint, Biome, ShellCheck, and the one-line
 * `path:line:col: CODE message` / `path:line: error: message` diagnostics of linters and compilers
 * (flake8, pylint, mypy, RuboCop, gcc...). `failureSignature` fingerprints
 * them so that "the same failure repeated" means the same tests failing with the same messages,
 * whatever the timestamps, durations and temp paths. `failureReport` renders failures first, then
 * a bounded tail of the log; with nothing recognised, the lines around the first error stand in.
 *
 * Pure and bounded: the log is cut to its last MAX_LOG_CHARS, lines to MAX_LINE_CHARS, failures to
 * MAX_FAILURES and messages to MAX_MESSAGE_LINES/CHARS; every pattern is anchored or linear, and
 * a parser looks at most MAX_SCAN lines below a failure for the rest of it.
 */
import { parseCargo } from './cargo';
import { parseBiome, parseEslint, parseTsc } from './diagnostics';
import { firstErrorExcerpt, tailOf } from './generic';
import { parseGo } from './go';
import { parseGradle } from './gradle';
import { parseGtest } from './gtest';
import { parseJest, parseVitest } from './jest';
import { parseJunit } from './junit';
import { parseLineDiagnostics } from './line-diagnostics';
import { cleanLog, type Failure, MAX_FAILURES } from './lines';
import { parseMaven } from './maven';
import { parseMinitest } from './minitest';
import { parseMocha } from './mocha';
import { parseNodeSpec, parseTap } from './node';
import { parsePhpunit } from './phpunit';
import { parsePytest } from './pytest';
import type { ExtractedFailures } from './report';
import { parseRspec } from './rspec';
import { parseShellcheck } from './shellcheck';
import { parseUnittest } from './unittest';

export type { Failure } from './lines';
export { MAX_FAILURES } from './lines';
export { failureSignature, normalizeId, normalizeText } from './signature';
export { type ExtractedFailures, failureReport, renderFailures, renderTail } from './report';

const LINE_PARSERS: Array<(lines: readonly string[]) => Failure[]> = [
  parseNodeSpec,
  parseTap,
  parseJest,
  parseVitest,
  parseMocha,
  parsePytest,
  parseUnittest,
  parseRspec,
  parseMinitest,
  parsePhpunit,
  parseMaven,
  parseGradle,
  parseGo,
  parseCargo,
  parseGtest,
  parseTsc,
  parseEslint,
  parseBiome,
  parseShellcheck,
  parseLineDiagnostics,
];

export function extractFailures(log: string): ExtractedFailures {
  const { lines, text } = cleanLog(log);
  const found: Failure[] = [];
  let capped = false; // a parser stops at MAX_FAILURES: there may have been more
  for (const parse of [...LINE_PARSERS, () => parseJunit(text)]) {
    const some = parse(lines);
    capped ||= some.length >= MAX_FAILURES;
    found.push(...some);
  }
  // The same failure reported twice (a runner's summary repeats it) counts once.
  const byKey = new Map<string, Failure>();
  for (const f of found) {
    const key = `${f.id}\n${f.message}`;
    const known = byKey.get(key);
    if (!known) byKey.set(key, f);
    else if (!known.location && f.location) known.location = f.location;
  }
  const failures = [...byKey.values()];
  const firstError = failures.length === 0 ? firstErrorExcerpt(lines) : undefined;
  return {
    failures: failures.slice(0, MAX_FAILURES),
    truncated: capped || failures.length > MAX_FAILURES,
    ...(firstError ? { firstError } : {}),
    tail: tailOf(lines),
  };
}
