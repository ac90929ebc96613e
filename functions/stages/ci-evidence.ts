import {
  type ExtractedFailures,
  type Failure,
  extractFailures,
  failureSignature,
  MAX_FAILURES,
  renderFailures,
  renderTail,
} from '../shared/domain/ci-failures';
import type { Blobs, CheckAnnotation, CheckRunInfo, CheckSummary, Log } from '../shared/ports';
import { truncate } from './tools';

/**
 * The evidence of a CI failure, for the fix loop (issue 17). From what GitHub gives for each failed
 * check (an Actions job's log, a check run's output and annotations, a commit status's description
 * and target URL) it builds what the model reads, failures first: the failing tests and
 * diagnostics extracted from the logs (or the check runs' failure annotations when no log names
 * any), then the failed checks with their links and annotations, then a bounded tail of the logs.
 * The full logs are kept by reference in the workspaces bucket (`ci-logs/<run>/<sha>/…`), never in
 * the run item or a state payload.
 */

export interface FailureEvidence {
  /** The extracted failures (bounded), or the lines around the first error. */
  rootCause: string;
  /** Fingerprint of the extracted failures: the same tests failing the same way match. */
  signature: string;
  /** The failed checks (name, conclusion, title, link) and their annotations, bounded. */
  checks: string;
  /** The logs' last lines, bounded. */
  log: string;
}

const ROOT_CAUSE_CHARS = 4000;
const CHECKS_CHARS = 3000;
const TAIL_CHARS = 8000;
const FAILURE_LINE = /(not ok|error|fail|assert|expected|exception|cannot|undefined|timed out)/i;
/** The annotation GitHub Actions adds to every failed step: no evidence of what failed. */
const RUNNER_EXIT = /^Process completed with exit code \d+\.?$/;

export const failedChecks = (summary: CheckSummary): CheckRunInfo[] =>
  summary.runs.filter(
    (r) =>
      r.conclusion && r.conclusion !== 'success' && r.conclusion !== 'skipped' && r.conclusion !== 'neutral',
  );

/** A failure-level annotation that says what failed, as a Failure (when no log names any). */
function annotationFailures(annotations: readonly CheckAnnotation[] = []): Failure[] {
  return annotations
    .filter((a) => a.level === 'failure' && !RUNNER_EXIT.test(a.message.trim()))
    .map((a) => ({
      id: a.title || a.path,
      message: a.message,
      location: `${a.path}:${a.line}`,
      runner: 'annotation',
    }));
}

/** What a check gave as evidence: its log, or its check-run output. */
export const evidenceTextOf = (r: CheckRunInfo): string =>
  [r.log, r.text, r.summary].filter(Boolean).join('\n');

export function summarizeFailure(summary: CheckSummary): FailureEvidence {
  const failed = failedChecks(summary);
  // Each check on its own, so one check's heading or summary is never taken for another's error.
  const perCheck = failed.map((r) => {
    const extracted = extractFailures(evidenceTextOf(r));
    return {
      run: r,
      ...extracted,
      failures: extracted.failures.length > 0 ? extracted.failures : annotationFailures(r.annotations),
    };
  });
  const found = perCheck.flatMap((c) => c.failures);
  const firstError = perCheck.find((c) => c.firstError)?.firstError;
  const extracted: ExtractedFailures = {
    failures: found.slice(0, MAX_FAILURES),
    truncated: found.length > MAX_FAILURES || perCheck.some((c) => c.truncated),
    ...(firstError ? { firstError } : {}),
    tail: perCheck.map((c) => `## ${c.run.name}: ${c.run.conclusion}\n${c.tail}`).join('\n\n'),
  };
  const all = failed.map((r) => `## ${r.name}: ${r.conclusion}\n${evidenceTextOf(r)}`).join('\n\n');
  const lines = all
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => FAILURE_LINE.test(l))
    .slice(0, 20);
  const fallback = `${failed
    .map((r) => r.name)
    .sort()
    .join(',')}\n${[...lines].sort().join('\n')}`;
  const rootCause =
    extracted.failures.length > 0 || extracted.firstError
      ? renderFailures(extracted, ROOT_CAUSE_CHARS)
      : truncate(
          lines.join('\n') || all.split('\n').slice(-20).join('\n') || 'checks failed',
          ROOT_CAUSE_CHARS,
        );
  return {
    rootCause,
    signature: failureSignature(extracted.failures, fallback),
    checks: renderChecks(failed),
    log: renderTail(extracted, TAIL_CHARS),
  };
}

/** `- name: conclusion — title (details: url)` per failed check, each with its annotations. */
function renderChecks(failed: readonly CheckRunInfo[]): string {
  const out: string[] = [];
  for (const r of failed) {
    const title = r.title ?? (r.log ? undefined : r.summary);
    out.push(
      `- ${r.name}: ${r.conclusion}${title ? ` — ${oneLine(title, 200)}` : ''}${r.url ? ` (details: ${r.url})` : ''}`,
    );
    for (const a of r.annotations ?? []) {
      out.push(
        `  - ${a.path}:${a.line} ${a.level}${a.title ? ` ${oneLine(a.title, 200)}` : ''}: ${oneLine(a.message, 300)}`,
      );
    }
  }
  const text = out.join('\n');
  return text.length <= CHECKS_CHARS ? text : `${text.slice(0, CHECKS_CHARS - 20)}\n[... cut ...]`;
}

const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
};

/** Where a failed check's log is kept: under the run, by head SHA and check. */
export function ciLogKeyOf(runId: string, sha: string, check: Pick<CheckRunInfo, 'name' | 'id'>): string {
  const name =
    check.name
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 80) || 'check';
  return `ci-logs/${runId}/${sha}/${name}${check.id !== undefined ? `-${check.id}` : ''}.log`;
}

export interface KeptLog {
  check: string;
  key: string;
  chars: number;
}

/** Logs kept per failure (the checks of one head SHA). */
const MAX_KEPT_LOGS = 20;

/**
 * Stores each failed check's log (already bounded by the GitHub adapter, with a marker when cut)
 * in the workspaces bucket, where the lifecycle rule expires it; returns the keys it stored. A log
 * that cannot be stored is logged and left out: the fix loop still has the extracted failures.
 */
export async function keepLogs(
  deps: { blobs: Blobs; log: Pick<Log, 'warn'> },
  runId: string,
  sha: string,
  summary: CheckSummary,
): Promise<KeptLog[]> {
  const withLogs = failedChecks(summary)
    .filter((r) => r.log)
    .slice(0, MAX_KEPT_LOGS);
  const stored = await Promise.allSettled(
    withLogs.map(async (r) => {
      const key = ciLogKeyOf(runId, sha, r);
      const log = r.log as string;
      await deps.blobs.put(key, new TextEncoder().encode(log), 'text/plain; charset=utf-8');
      return { check: r.name, key, chars: log.length };
    }),
  );
  return stored.flatMap((result, i) => {
    if (result.status === 'fulfilled') return [result.value];
    deps.log.warn('could not keep a CI log', {
      runId,
      check: withLogs[i]?.name,
      error: String(result.reason),
    });
    return [];
  });
}
