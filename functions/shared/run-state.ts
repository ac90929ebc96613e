import { isTerminal, type Run, type RunStatus, type StageRecord } from './domain/run';
import { assertTransition } from './domain/transitions';
import { VersionConflictError } from './errors';
import type { RunStore } from './ports';

const MAX_CONFLICT_RETRIES = 8;

/**
 * Read-modify-write of a run under its optimistic lock: `change` computes a patch from the
 * current run; a lost race re-reads and recomputes (bounded).
 */
export async function mutateRun(
  deps: { store: RunStore },
  runId: string,
  change: (current: Run) => Partial<Run> | undefined,
): Promise<Run> {
  for (let attempt = 0; ; attempt++) {
    const current = await deps.store.getRun(runId);
    if (!current) throw new Error(`run ${runId} not found`);
    const patch = change(current);
    if (!patch || Object.keys(patch).length === 0) return current;
    // Every status write is checked against the transition table: an illegal one is never written.
    if (patch.status && patch.status !== current.status) assertTransition(current.status, patch.status);
    try {
      return await deps.store.updateRun(runId, current.version, patch);
    } catch (error) {
      if (!(error instanceof VersionConflictError) || attempt >= MAX_CONFLICT_RETRIES) throw error;
    }
  }
}

/** Records why the run stops, on its item; the cause is cut to the 4,000 characters RunError holds. */
export const recordRunError = (deps: { store: RunStore }, runId: string, errorClass: string, cause: string) =>
  mutateRun(deps, runId, () => ({ error: { class: errorClass, cause: cause.slice(0, 4000) } }));

/**
 * Ends a run from outside its execution (a cancel, a follow-up, an execution that died): the
 * status and error are written and its open stage closed, unless it had already ended.
 * `transitioned` says whether this call ended it.
 */
export async function endRunFromOutside(
  deps: { store: RunStore; now: () => string },
  runId: string,
  status: 'FAILED' | 'CANCELLED' | 'SUPERSEDED',
  error: { class: string; cause: string },
): Promise<{ run: Run; transitioned: boolean }> {
  let transitioned = false;
  const run = await mutateRun(deps, runId, (r) => {
    transitioned = !isTerminal(r.status);
    if (!transitioned) return undefined;
    const at = deps.now();
    return {
      status,
      // The stage it was in ends with it, so no timeline shows it still running.
      stages: closeOpenStage(r.stages, at, 'FAILED'),
      endedAt: at,
      updatedAt: at,
      error: { class: error.class.slice(0, 100), cause: error.cause.slice(0, 4000) },
    };
  });
  return { run, transitioned };
}

/** Marks a stage as entered on the run's timeline (and the run's status, if it changes). */
export function enterStage(
  run: Run,
  name: StageRecord['name'],
  at: string,
  status?: RunStatus,
): Partial<Run> {
  const stages = closeOpenStage(run.stages, at, 'SUCCEEDED');
  stages.push({ name, status: 'RUNNING', startedAt: at });
  return { stage: name, stages: stages.slice(-200), ...(status && status !== run.status ? { status } : {}) };
}

/** Ends the stage that is still open, with its duration. */
export function closeOpenStage(
  stages: StageRecord[],
  at: string,
  status: StageRecord['status'],
): StageRecord[] {
  return stages.map((s) =>
    s.endedAt || (s.status !== 'RUNNING' && s.status !== 'WAITING')
      ? s
      : { ...s, status, endedAt: at, ms: Math.max(0, Date.parse(at) - Date.parse(s.startedAt)) },
  );
}
