import { checkBoundary, describeViolations, type FileChange } from '../shared/domain/boundary';
import type { Contract } from '../shared/domain/contract';
import { isTerminal, type Run } from '../shared/domain/run';
import { AGENT_STAGES, type AgentStage } from '../shared/domain/turns';
import { mutateRun } from '../shared/run-state';
import { changeSetOf } from './boundary';
import type { StagePorts } from './deps';
import { errorOf, type StateError } from './finalize';
import { diffHash, pushChange } from './publish';
import { type LeftOutFile, stopNote, stopNoteKeyOf } from './stop-note';

/**
 * keep-work (state `KeepWork`): a run that stops before it finishes (a stage out of turns, the
 * budget spent, environment.checks that keep failing) keeps what it did. The pending change, cut
 * down to what passes the boundary, goes to the run's branch as a draft PR whose body says where
 * the run stopped and what is left (stop-note.ts); then the run ends STOPPED. Nothing pending, or
 * nothing left within the contract: no PR. The push is publish's (pushChange), so a retried step
 * adds no second commit.
 */

const COUNT_RULES = new Set(['too-many-files', 'too-many-lines', 'too-many-bytes']);

export interface Keepable {
  kept: FileChange[];
  leftOut: LeftOutFile[];
  /** Why nothing is kept although files passed one by one: the rest is over the size limits. */
  overLimits?: string;
}

/** The files that pass the boundary on their own; the rest left out, by rule. */
export function keepableChange(contract: Contract, changes: readonly FileChange[]): Keepable {
  const kept: FileChange[] = [];
  const leftOut: LeftOutFile[] = [];
  for (const change of changes) {
    const violations = checkBoundary(contract, [change]).filter((v) => !COUNT_RULES.has(v.rule));
    if (violations.length === 0) kept.push(change);
    else
      leftOut.push({
        ...(violations.some((v) => v.rule === 'invalid-path') ? {} : { path: change.path }),
        rules: [...new Set(violations.map((v) => v.rule))],
      });
  }
  const overall = checkBoundary(contract, kept);
  return overall.length === 0
    ? { kept, leftOut }
    : { kept: [], leftOut, overLimits: describeViolations(overall) };
}

/** Model turns the stage's latest conversation took. */
async function turnsUsed(deps: StagePorts, run: Run, stage: AgentStage): Promise<number | undefined> {
  const conversation = run.conversations.filter((c) => c.stage === stage).at(-1);
  if (!conversation) return undefined;
  const { turns } = await deps.store.getConversationWithTurns(conversation.conversationId);
  return turns.filter((t) => t.role === 'assistant').length;
}

const isAgentStage = (stage: string | undefined): stage is AgentStage =>
  (AGENT_STAGES as readonly string[]).includes(stage ?? '');

export async function keepWork(
  deps: StagePorts,
  runId: string,
  stateError: StateError | null | undefined,
): Promise<{ kept: boolean; prNumber?: number }> {
  // The reason came as the state's error (BudgetExceeded from the LLM worker, the turn ceiling) or
  // is on the run already (TurnsExhausted, ChecksFailing): the note and finalize both need it.
  const reason = errorOf(stateError);
  const run = await mutateRun(deps, runId, (r) =>
    reason && !isTerminal(r.status) ? { error: reason } : undefined,
  );
  // Cancelled meanwhile: the cancel took the run's change back; nothing is kept.
  if (isTerminal(run.status)) return { kept: false };
  const contract = deps.contractOf(run);
  const { kept, leftOut, overLimits } = keepableChange(
    contract.policy as unknown as Contract,
    await changeSetOf(deps, run),
  );
  const stage = isAgentStage(run.stage) ? run.stage : undefined;
  const base = { reason: run.error?.class, stage, leftOut: leftOut.map((f) => f.path ?? '(unsafe path)') };
  if (kept.length === 0) {
    await deps.store.appendEvent(runId, {
      type: 'work.kept',
      actor: 'stage-runner',
      data: {
        ...base,
        pushed: false,
        why: overLimits ? 'over the size limits' : 'nothing pending within the contract',
      },
    });
    return { kept: false };
  }
  const used = stage ? await turnsUsed(deps, run, stage) : undefined;
  const body = stopNote({
    run,
    stage: stage ?? run.stage ?? 'implement',
    ...(stage && used !== undefined ? { turns: { used, limit: contract.turns[stage] } } : {}),
    budgetUsd: contract.budgetUsd,
    maxFixAttempts: contract.maxFixAttempts,
    kept,
    leftOut,
  });
  // Kept for a retry, which resumes from the branch with this note in its prompts.
  await deps.blobs.put(stopNoteKeyOf(runId), Buffer.from(body, 'utf8'), 'text/markdown');
  const paths = new Set(kept.map((c) => c.path));
  const files = (await deps.store.listWorkspaceFiles(runId)).filter((f) => paths.has(f.path));
  const pushed = await pushChange(deps, run, files, {
    body,
    message: `WIP: ${run.issueTitle ?? 'Code Factory change'} (stopped: ${run.error?.class ?? 'Stopped'})`,
    skipUnchanged: true,
  });
  if (!pushed.withdrawn)
    await deps.store.appendEvent(runId, {
      type: 'work.kept',
      actor: 'stage-runner',
      data: {
        ...base,
        pushed: true,
        headSha: pushed.headSha,
        prNumber: pushed.prNumber,
        newCommit: !pushed.unchanged,
        files: files.length,
        diffSha256: diffHash(files),
      },
    });
  return { kept: true, prNumber: pushed.prNumber };
}
