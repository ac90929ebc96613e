import type { Run } from '../shared/domain/run';
import { workspaceOf } from './workspace';
import { type FileChange, checkBoundary, describeViolations } from '../shared/domain/boundary';
import type { Contract } from '../shared/domain/contract';
import { lineDelta } from '../shared/domain/line-diff';
import type { StagePorts } from './deps';
import { enterStage, mutateRun, recordRunError } from '../shared/run-state';

/**
 * The workspace overlay as a change set against the base commit, read from the run's snapshot
 * (no GitHub call per file), each file counted from a line diff. A binary or oversized base file
 * counts as text-less. With `maxLines`, diffing stops once the whole change is past it (the
 * remaining files count as wholly rewritten: the limit is blown anyway).
 */
export async function changeSetOf(
  deps: StagePorts,
  run: Run,
  options: { maxLines?: number } = {},
): Promise<FileChange[]> {
  const files = await deps.store.listWorkspaceFiles(run.runId);
  const { base } = await workspaceOf(deps, run);
  const index = await base.index();
  const changes: FileChange[] = [];
  let lines = 0;
  for (const file of files) {
    const inBase = index.files.has(file.path) || index.links.has(file.path);
    if (file.deleted && !inBase) continue; // created then deleted: no change at all
    const body = inBase ? await base.read(file.path) : undefined;
    const before = body ? (body.kind === 'text' ? body.text : '') : undefined;
    if (!file.deleted && before === file.content) continue; // rewritten identically
    const budget = options.maxLines === undefined ? {} : { maxEditLength: options.maxLines - lines + 1 };
    const delta = lineDelta(before, file.deleted ? undefined : file.content, budget);
    lines += delta.added.length + delta.removed;
    changes.push({
      path: file.path,
      status: file.deleted ? 'deleted' : inBase ? 'modified' : 'added',
      addedLines: delta.added,
      removedLineCount: delta.removed,
      addedBytes: delta.addedBytes,
      ...(delta.wholeFile ? { wholeFile: true } : {}),
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
  const changes = await changeSetOf(deps, run, {
    maxLines: (contract.policy as { maxLinesChanged?: number }).maxLinesChanged,
  });
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
      bytes: changes.reduce((n, c) => n + c.addedBytes, 0),
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
  await recordRunError(deps, runId, 'BoundaryViolation', text);
  return { outcome: 'fail' };
}
