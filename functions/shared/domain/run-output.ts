import type { SandboxResult } from '../ports';

/**
 * The `run` tool's answer as the model reads it: `exit_code: N`, then the command's combined
 * output, at most its first 2,000 and last 8,000 characters with a marker between. A timeout
 * answers `exit_code: 124 (timed out after N s)`. When output was omitted, the omitted part's lines
 * that look like test failures (OutputCapture) are shown after the marker.
 */

/** Characters of output kept from the start and from the end of a command's output. */
export const RUN_HEAD_CHARS = 2_000;
export const RUN_TAIL_CHARS = 8_000;
/** At most this many characters of failure lines are kept from the omitted middle. */
export const FAILURE_LINES_CHARS = 3_000;

export const DEFAULT_RUN_SECONDS = 120;
export const DEFAULT_MAX_RUN_SECONDS = 600;

/** The time limit of one command: the requested one (default 120 s), within [1, max]. */
export function runLimitSeconds(requested: number | undefined, max = DEFAULT_MAX_RUN_SECONDS): number {
  const wanted =
    requested === undefined || !Number.isFinite(requested) ? DEFAULT_RUN_SECONDS : Math.ceil(requested);
  return Math.min(Math.max(wanted, 1), max);
}

export function formatRunResult(
  result: Pick<SandboxResult, 'exitCode' | 'timedOut' | 'head' | 'tail' | 'omittedChars' | 'omittedFailures'>,
  limitSeconds: number,
): string {
  const status = result.timedOut
    ? `exit_code: 124 (timed out after ${limitSeconds} s)`
    : `exit_code: ${result.exitCode}`;
  const output =
    result.omittedChars > 0
      ? `${result.head}\n[… ${result.omittedChars} characters of output omitted; showing the first ` +
        `${result.head.length} and the last ${result.tail.length} …]\n` +
        (result.omittedFailures
          ? `[lines of the omitted part that look like failures:]\n${result.omittedFailures}\n[… end of those lines; the last ${result.tail.length} characters follow …]\n`
          : '') +
        result.tail
      : result.head + result.tail;
  return output.length === 0 ? `${status}\n(no output)` : `${status}\n${output}`;
}
