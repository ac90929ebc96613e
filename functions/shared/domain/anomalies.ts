import { isTerminal, type Run } from './run';

/**
 * Anomalies the copilot reports (issue 21): runs stuck past their stage's usual time, and
 * repeated failures (a work item failing run after run, one error class recurring). Pure: the
 * caller reads the runs (bounded) and passes the clock.
 */

/** Statuses that wait on people or CI by design: a long wait there is not an anomaly. */
const WAITING_ON_PEOPLE = new Set(['AWAITING_CLARIFICATION', 'AWAITING_APPROVAL']);
/** A stage is stuck after this many times its usual (median) duration… */
export const STUCK_FACTOR = 3;
/** …and never before this (a stage without history, or a fast one, is given this long). */
export const STUCK_FLOOR_MS = 15 * 60 * 1000;
/** Failures of one work item, or of one error class, from which they count as repeated. */
export const REPEATED_FAILURES = 2;

export type Anomaly =
  | {
      kind: 'stuck';
      runId: string;
      repo: string;
      status: string;
      stage: string;
      sinceMs: number;
      usualMs: number;
    }
  | { kind: 'repeated-failure'; workItemKey: string; runIds: string[]; errorClasses: string[] }
  | { kind: 'recurring-error'; errorClass: string; runIds: string[] };

const median = (values: number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/** The median duration of each stage over the finished stage records of `runs`. */
export function usualStageMs(runs: readonly Run[]): Map<string, number> {
  const samples = new Map<string, number[]>();
  for (const run of runs)
    for (const stage of run.stages)
      if (stage.ms !== undefined && stage.status === 'SUCCEEDED')
        samples.set(stage.name, [...(samples.get(stage.name) ?? []), stage.ms]);
  const usual = new Map<string, number>();
  for (const [name, values] of samples) {
    const value = median(values);
    if (value !== undefined) usual.set(name, value);
  }
  return usual;
}

/** `runs` newest first (as the store lists them). */
export function findAnomalies(runs: readonly Run[], nowMs: number): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const usual = usualStageMs(runs);
  for (const run of runs) {
    if (isTerminal(run.status) || WAITING_ON_PEOPLE.has(run.status)) continue;
    const current = run.stages.at(-1);
    const stage = run.stage ?? current?.name ?? 'admit';
    const since = Date.parse(current && !current.endedAt ? current.startedAt : run.updatedAt);
    const usualMs = usual.get(stage) ?? 0;
    const sinceMs = nowMs - since;
    if (Number.isFinite(sinceMs) && sinceMs > Math.max(STUCK_FLOOR_MS, usualMs * STUCK_FACTOR))
      anomalies.push({
        kind: 'stuck',
        runId: run.runId,
        repo: run.repo,
        status: run.status,
        stage,
        sinceMs,
        usualMs,
      });
  }
  // A work item whose latest runs all failed, newest first, stopping at its first non-failure.
  const streaks = new Map<string, { runs: Run[]; open: boolean }>();
  for (const run of runs) {
    const streak = streaks.get(run.workItemKey) ?? { runs: [], open: true };
    if (streak.open && run.status === 'FAILED') streak.runs.push(run);
    else if (isTerminal(run.status)) streak.open = false;
    streaks.set(run.workItemKey, streak);
  }
  for (const [workItemKey, streak] of streaks)
    if (streak.runs.length >= REPEATED_FAILURES)
      anomalies.push({
        kind: 'repeated-failure',
        workItemKey,
        runIds: streak.runs.map((r) => r.runId),
        errorClasses: [...new Set(streak.runs.map((r) => r.error?.class ?? 'unknown'))],
      });
  const byClass = new Map<string, string[]>();
  for (const run of runs)
    if (run.status === 'FAILED' && run.error)
      byClass.set(run.error.class, [...(byClass.get(run.error.class) ?? []), run.runId]);
  for (const [errorClass, runIds] of byClass)
    if (runIds.length >= REPEATED_FAILURES) anomalies.push({ kind: 'recurring-error', errorClass, runIds });
  return anomalies;
}
