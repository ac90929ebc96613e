/**
 * When no parser recognises anything: the lines around the first line that looks like an error,
 * and in every case the log's last lines (ending at the runner's `Process completed with exit
 * code N.` when there is one, so post-job cleanup does not crowd out the failure).
 */
export const TAIL_LINES = 200;

const ERRORISH =
  /\b(?:error|errors|failed|failure|failures|fail|exception|panic|panicked|fatal|traceback|assertionerror)\b|\bnot ok\b|✖|✕|×/i;
const RUNNER_EXIT = /^Process completed with exit code \d+\.?$/;
/**
 * A passing test's line names it, and a test's name may say "error" ("… then error"): TAP's
 * `ok N` and `# Subtest:`, spec reporters' ✔ and ✓, `--- PASS`, `PASS`, `PASSED`, cargo's `... ok`.
 */
const PASSING = /^(?:ok \d+\b|# Subtest:|[✔✓]|--- PASS\b|PASS\b)|\bPASSED\b|\.\.\. ok$/;

export function firstErrorExcerpt(lines: readonly string[], before = 5, after = 15): string | undefined {
  const at = lines.findIndex((l) => {
    const trimmed = l.trim();
    return ERRORISH.test(l) && !RUNNER_EXIT.test(trimmed) && !PASSING.test(trimmed);
  });
  if (at < 0) return undefined;
  return lines
    .slice(Math.max(0, at - before), at + after + 1)
    .join('\n')
    .trim();
}

export function tailOf(lines: readonly string[], count = TAIL_LINES): string {
  let end = lines.length;
  for (let i = lines.length - 1; i >= 0 && i >= lines.length - 5_000; i--) {
    if (/^Process completed with exit code [1-9]\d*\.?$/.test(lines[i]!.trim())) {
      end = i + 1;
      break;
    }
  }
  while (end > 0 && lines[end - 1]!.trim() === '') end--;
  return lines.slice(Math.max(0, end - count), end).join('\n');
}
