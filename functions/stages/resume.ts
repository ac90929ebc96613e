import { readFileSync } from 'node:fs';
import type { Run } from '../shared/domain/run';
import { MAX_WORKSPACE_FILE_BYTES } from '../shared/store/workspace';
import type { StagePorts } from './deps';
import { ensureSnapshot, unpackedTree } from './snapshot';
import { stopNoteKeyOf } from './stop-note';
import { BaseTree } from './workbench';

/**
 * Resuming a stopped run (`/factory retry`, `POST /v1/runs/{id}/retry`): when the run before this
 * one on the work item ended STOPPED with its work kept on a branch, the new run starts from that
 * branch rather than from scratch. Its base is the stopped run's base, its pending change is what
 * the branch holds against that base (its commits and anyone's pushes to it), and it publishes to
 * the same branch and draft PR; its prompts carry the stopped run's note (stop-note.ts).
 */

export interface ResumePoint {
  runId: string;
  branch: string;
  /** The branch head the change is read from. */
  headSha: string;
  baseSha: string;
  prNumber?: number;
}

/** Changed files a resumed change may hold: more than a contract allows, far less than a repo. */
const MAX_RESUMED_FILES = 1000;

/** The stopped run this retry resumes, if the run before it stopped with a branch still there. */
export async function resumePointOf(deps: StagePorts, run: Run): Promise<ResumePoint | undefined> {
  if (run.resumedFrom) return run.resumedFrom;
  if (run.trigger.source !== 'retry' || run.kind !== 'change') return undefined;
  const { runs } = await deps.store.getWorkItemWithRuns(run.workItemKey, { limit: 5 });
  const previous = runs.items.find((r) => r.runId < run.runId);
  if (previous?.status !== 'STOPPED' || !previous.branch || !previous.baseSha) return undefined;
  const headSha = await deps.github.getRef(deps.repoOf(run), `heads/${previous.branch}`);
  if (!headSha) return undefined;
  return {
    runId: previous.runId,
    branch: previous.branch,
    headSha,
    baseSha: previous.baseSha,
    ...(previous.prNumber ? { prNumber: previous.prNumber } : {}),
  };
}

/** Both snapshots' trees, through the run's snapshot keys (one tarball each). */
async function treeAt(deps: StagePorts, run: Run, sha: string): Promise<BaseTree> {
  const key = await ensureSnapshot(deps, { runId: run.runId, repo: deps.repoOf(run) }, sha);
  return new BaseTree(await unpackedTree(deps, key));
}

export interface SeededChange {
  files: number;
  deleted: number;
  /** Changed files the workspace cannot hold (binary, too large, past the count): named, not carried. */
  skipped: string[];
}

/**
 * The branch's change against the base, written as the run's pending change (whole files, and
 * deletions). Idempotent: a retried admit writes the same items again.
 */
export async function seedFromBranch(deps: StagePorts, run: Run, point: ResumePoint): Promise<SeededChange> {
  const [base, head] = await Promise.all([
    treeAt(deps, run, point.baseSha),
    treeAt(deps, run, point.headSha),
  ]);
  const [baseIndex, headIndex] = await Promise.all([base.index(), head.index()]);
  const now = deps.now();
  const seeded: SeededChange = { files: 0, deleted: 0, skipped: [] };
  const changed: string[] = [];
  for (const path of headIndex.paths) {
    const before = baseIndex.files.get(path);
    const after = headIndex.files.get(path);
    if (!after) continue;
    if (before && before.size === after.size && readFileSync(before.real).equals(readFileSync(after.real)))
      continue;
    changed.push(path);
  }
  const removed = baseIndex.paths.filter((path) => !headIndex.files.has(path));
  for (const path of changed) {
    if (seeded.files + seeded.deleted >= MAX_RESUMED_FILES) {
      seeded.skipped.push(path);
      continue;
    }
    const body = await head.read(path);
    if (body?.kind !== 'text' || body.size > MAX_WORKSPACE_FILE_BYTES) {
      seeded.skipped.push(path);
      continue;
    }
    await deps.store.putWorkspaceFile(run.runId, {
      path,
      content: body.text,
      deleted: false,
      updatedAt: now,
    });
    seeded.files += 1;
  }
  for (const path of removed) {
    if (seeded.files + seeded.deleted >= MAX_RESUMED_FILES) {
      seeded.skipped.push(path);
      continue;
    }
    await deps.store.putWorkspaceFile(run.runId, { path, deleted: true, updatedAt: now });
    seeded.deleted += 1;
  }
  return seeded;
}

/** The stopped run's note, for the prompts (kept by keep-work; its summary when the note expired). */
export async function resumeNote(deps: StagePorts, run: Run): Promise<string | undefined> {
  const from = run.resumedFrom;
  if (!from) return undefined;
  const stored = await deps.blobs.get(stopNoteKeyOf(from.runId));
  if (stored) return Buffer.from(stored).toString('utf8');
  const previous = await deps.store.getRun(from.runId);
  return [
    `Run ${from.runId} stopped${previous?.error ? ` (${previous.error.class}: ${previous.error.cause})` : ''}.`,
    previous?.planSummary ? `Its plan: ${previous.planSummary}` : undefined,
  ]
    .filter(Boolean)
    .join('\n');
}
