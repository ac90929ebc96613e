import { createHash } from 'node:crypto';
import { isTerminal, type Run } from '../shared/domain/run';
import { withdrawChange } from '../shared/run-cleanup';
import type { TreeEntry, WorkspaceFile } from '../shared/ports';
import { updateStatusComment } from './comments';
import { workspaceOf } from './workspace';
import type { StagePorts } from './deps';
import { enterStage, mutateRun } from '../shared/run-state';

/**
 * publish: the workspace overlay becomes one commit on the run's branch, through the git-data
 * API (no clone), and a draft PR linked to the issue. Later attempts add a commit on top of the
 * previous one and update the same PR. Safe to retry: every step checks what already exists.
 */

export const branchName = (run: Pick<Run, 'issueNumber' | 'issueTitle' | 'runId'>): string => {
  const slug = (run.issueTitle ?? 'change')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/g, '');
  return `factory/${run.issueNumber ?? run.runId.toLowerCase()}-${slug || 'change'}`;
};

/** A stable hash of the pending change, recorded in the audit trail. */
export function diffHash(files: WorkspaceFile[]): string {
  const hash = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    hash.update(`${f.path}\0${f.deleted ? 'D' : 'W'}\0${f.content ?? ''}\0`);
  }
  return hash.digest('hex');
}

export interface PublishResult {
  headSha: string;
  prNumber: number;
}

export async function publish(
  deps: StagePorts,
  runId: string,
  commitMessage?: string,
): Promise<PublishResult> {
  let run = await mutateRun(deps, runId, (r) => enterStage(r, 'publish', deps.now(), 'VERIFYING'));
  const repo = deps.repoOf(run);
  if (!run.baseSha) throw new Error('run has no base SHA');
  const files = await deps.store.listWorkspaceFiles(runId);
  if (files.length === 0) throw new Error('nothing to publish: the workspace is empty');

  // A deletion is published only for a file the base has (read from the run's snapshot).
  const base = await (await workspaceOf(deps, run)).base.index();
  const entries: TreeEntry[] = files
    .filter((f) => !f.deleted || base.files.has(f.path) || base.links.has(f.path))
    .map((f) =>
      f.deleted
        ? { path: f.path, mode: '100644', type: 'blob', sha: null }
        : { path: f.path, mode: '100644', type: 'blob', content: f.content ?? '' },
    );

  const branch = run.branch ?? branchName(run);
  const ref = `heads/${branch}`;
  const previousHead = await deps.github.getRef(repo, ref);
  const baseTree = await deps.github.getCommitTree(repo, run.baseSha);
  const tree = await deps.github.createTree(repo, baseTree, entries);
  const message =
    commitMessage ??
    `${run.issueTitle ?? 'Code Factory change'}${run.issueNumber ? ` (#${run.issueNumber})` : ''}`;
  // On top of whatever the branch holds (this run's previous attempt, a failed run's PR left for
  // people, someone's push), never forced: each commit carries the whole tree, so the PR shows
  // exactly this change, and nobody's commits are dropped from history. A run that will not merge
  // deletes its branch (run-cleanup.ts), so a new run usually starts from the base.
  const parent = previousHead ?? run.baseSha;
  const headSha = await deps.github.createCommit(repo, `${message}\n\nCode-Factory-Run: ${run.runId}`, tree, [
    parent,
  ]);
  const foreignHead = previousHead !== undefined && previousHead !== run.headSha;
  if (previousHead) await deps.github.updateRef(repo, ref, headSha, false);
  else await deps.github.createRef(repo, `refs/${ref}`, headSha);

  const defaultBranch = (await deps.github.getDefaultBranch(repo)).name;
  const title = `${run.issueTitle ?? 'Code Factory change'}${run.issueNumber ? ` (#${run.issueNumber})` : ''}`;
  const body = [
    run.issueNumber ? `Closes #${run.issueNumber}.` : undefined,
    run.planSummary ? `**Plan:** ${run.planSummary}` : undefined,
    `Opened by Code Factory run \`${run.runId}\`. The factory updates this PR on each attempt.`,
  ]
    .filter(Boolean)
    .join('\n\n');
  const existing = run.prNumber
    ? await deps.github.getPull(repo, run.prNumber)
    : await deps.github.findOpenPull(repo, branch);
  const pull =
    existing && existing.state === 'open'
      ? await deps.github.updatePull(repo, existing.number, { title, body })
      : await deps.github.createPull(repo, { title, body, head: branch, base: defaultBranch, draft: true });

  // Serialized with a cancel on the run's version: either this write lands first (and the cancel
  // closes the PR it names), or the run is already over and publish takes its own PR back.
  run = await mutateRun(deps, runId, (r) =>
    isTerminal(r.status) ? undefined : { branch, headSha, prNumber: pull.number, prUrl: pull.url },
  );
  if (isTerminal(run.status)) {
    const withdrawn = await withdrawChange(deps, {
      runId,
      repo: run.repo,
      prNumber: pull.number,
      branch,
      headSha,
    });
    await deps.store.appendEvent(runId, {
      type: 'change.withdrawn',
      actor: 'stage-runner',
      data: { reason: `the run ended ${run.status} while publishing`, ...withdrawn },
    });
    return { headSha, prNumber: pull.number };
  }
  await deps.store.appendEvent(runId, {
    type: 'change.published',
    actor: 'stage-runner',
    data: {
      headSha,
      branch,
      prNumber: pull.number,
      files: files.length,
      diffSha256: diffHash(files),
      ...(foreignHead ? { builtOnForeignHead: previousHead } : {}),
    },
  });
  await updateStatusComment(deps, run);
  return { headSha, prNumber: pull.number };
}
