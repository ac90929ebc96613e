import type { Run } from '../shared/domain/run';
import { workspaceOf } from './workspace';
import { type FileChange, checkBoundary, describeViolations } from '../shared/domain/boundary';
import type { Contract } from '../shared/domain/contract';
import type { StagePorts } from './deps';
import { enterStage, mutateRun } from '../shared/run-state';

/**
 * Lines added and lines removed between two texts, as multisets: enough for the contract's
 * size limits and for scanning every added line for secrets, without a diff algorithm.
 */
export function lineDelta(
  before: string | undefined,
  after: string | undefined,
): { added: string[]; removed: number } {
  const oldLines = before === undefined ? [] : before.split('\n');
  const newLines = after === undefined ? [] : after.split('\n');
  const pool = new Map<string, number>();
  for (const line of oldLines) pool.set(line, (pool.get(line) ?? 0) + 1);
  const added: string[] = [];
  for (const line of newLines) {
    const left = pool.get(line) ?? 0;
    if (left > 0) pool.set(line, left - 1);
    else added.push(line);
  }
  const removed = [...pool.values()].reduce((a, b) => a + b, 0);
  return { added, removed };
}

/**
 * The workspace overlay as a change set against the base commit, read from the run's snapshot
 * (no GitHub call per file). A binary or oversized base file counts as text-less.
 */
export async function changeSetOf(deps: StagePorts, run: Run): Promise<FileChange[]> {
  const files = await deps.store.listWorkspaceFiles(run.runId);
  const { base } = await workspaceOf(deps, run);
  const index = await base.index();
  const changes: FileChange[] = [];
  for (const file of files) {
    const inBase = index.files.has(file.path) || index.links.has(file.path);
    if (file.deleted && !inBase) continue; // created then deleted: no change at all
    const body = inBase ? await base.read(file.path) : undefined;
    const before = body ? (body.kind === 'text' ? body.text : '') : undefined;
    if (!file.deleted && before === file.content) continue; // rewritten identically
    const { added, removed } = lineDelta(before, file.deleted ? undefined : file.content);
    changes.push({
      path: file.path,
      status: file.deleted ? 'deleted' : inBase ? 'modified' : 'added',
      addedLines: added,
      removedLineCount: removed,
    });
  }
  return changes;
}

export type BoundaryOutcome = 'pass' | 'retry' | 'fail';

/**
 * boundary: the deterministic check of the pending change against the run's contract snapshot.
 * No model is involved and nothing the model or the issue said can widen the contract.
 */
export async function checkChangeBoundary(
  deps: StagePorts,
  runId: string,
): Promise<{ outcome: BoundaryOutcome }> {
  const run = await mutateRun(deps, runId, (r) => enterStage(r, 'boundary', deps.now()));
  const contract = deps.contractOf(run);
  const changes = await changeSetOf(deps, run);
  const violations =
    changes.length === 0
      ? [{ rule: 'invalid-change' as const, message: 'the change is empty: nothing was written' }]
      : checkBoundary(contract.policy as unknown as Contract, changes);
  await deps.store.appendEvent(runId, {
    type: violations.length === 0 ? 'boundary.passed' : 'boundary.violated',
    actor: 'stage-runner',
    data: {
      files: changes.length,
      lines: changes.reduce((n, c) => n + c.addedLines.length + c.removedLineCount, 0),
      rules: [...new Set(violations.map((v) => v.rule))],
    },
  });
  if (violations.length === 0) return { outcome: 'pass' };

  const text = describeViolations(violations);
  if (run.fixAttempts < contract.maxFixAttempts) {
    await mutateRun(deps, runId, (r) => ({
      fixAttempts: r.fixAttempts + 1,
      feedback: {
        kind: 'boundary',
        text: `${text}\n\nUndo these changes (delete_file or write_file back) and stay within the contract.`,
      },
    }));
    return { outcome: 'retry' };
  }
  await mutateRun(deps, runId, () => ({ error: { class: 'BoundaryViolation', cause: text.slice(0, 4000) } }));
  return { outcome: 'fail' };
}
