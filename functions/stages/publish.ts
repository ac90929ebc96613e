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
 * A run that stops keeps its work through the same `pushChange` (keep-work.ts).
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

/** The PR's title: the issue's, with its number. */
const titleOf = (run: Run): string =>
  `${run.issueTitle ?? 'Code Factory change'}${run.issueNumber ? ` (#${run.issueNumber})` : ''}`;

export interface PushOptions {
  /** The PR body (replaces the body of the run's open PR). */
  body: string;
  /** The commit message before the `Code-Factory-Run` trailer. */
  message?: string;
  /** No new commit when the branch head already has exactly this tree (a retried or repeated push). */
  skipUnchanged?: boolean;
}

export interface PushedChange extends PublishResult {
  branch: string;
  /** The branch had a head this run did not write (someone's push, an earlier run's PR). */
  foreignHead?: string;
  /** No commit was made: the head already had this tree. */
  unchanged: boolean;
  /** The run ended meanwhile (a cancel): the PR was closed and the branch deleted again. */
  withdrawn: boolean;
  /** The run as recorded after the push. */
  run: Run;
}

/** The pending change as tree entries; a deletion only of a file the base has (the run's snapshot). */
export async function treeEntriesOf(
  deps: StagePorts,
  run: Run,
  files: readonly WorkspaceFile[],
): Promise<TreeEntry[]> {
  const base = await (await workspaceOf(deps, run)).base.index();
  return files
    .filter((f) => !f.deleted || base.files.has(f.path) || base.links.has(f.path))
    .map((f) =>
      f.deleted
        ? { path: f.path, mode: '100644', type: 'blob', sha: null }
        : { path: f.path, mode: '100644', type: 'blob', content: f.content ?? '' },
    );
}

/**
 * `files` as one commit on the run's branch, on top of whatever the branch holds (never forced),
 * and the run's draft PR, created or updated; recorded on the run unless it ended meanwhile.
 */
export async function pushChange(
  deps: StagePorts,
  run: Run,
  files: readonly WorkspaceFile[],
  options: PushOptions,
): Promise<PushedChange> {
  const runId = run.runId;
  const repo = deps.repoOf(run);
  if (!run.baseSha) throw new Error('run has no base SHA');
  const entries = await treeEntriesOf(deps, run, files);

  const branch = run.branch ?? branchName(run);
  const ref = `heads/${branch}`;
  const previousHead = await deps.github.getRef(repo, ref);
  const baseTree = await deps.github.getCommitTree(repo, run.baseSha);
  const tree = await deps.github.createTree(repo, baseTree, entries);
  const unchanged =
    options.skipUnchanged === true &&
    previousHead !== undefined &&
    (await deps.github.getCommitTree(repo, previousHead)) === tree;
  // On top of whatever the branch holds (this run's previous attempt, a failed run's PR left for
  // people, someone's push), never forced: each commit carries the whole tree, so the PR shows
  // exactly this change, and nobody's commits are dropped from history. A run that will not merge
  // deletes its branch (run-cleanup.ts), so a new run usually starts from the base.
  let headSha = previousHead ?? run.baseSha;
  if (!unchanged) {
    const message = options.message ?? titleOf(run);
    headSha = await deps.github.createCommit(repo, `${message}\n\nCode-Factory-Run: ${runId}`, tree, [
      previousHead ?? run.baseSha,
    ]);
    if (previousHead) await deps.github.updateRef(repo, ref, headSha, false);
    else await deps.github.createRef(repo, `refs/${ref}`, headSha);
  }
  const foreignHead = previousHead !== undefined && previousHead !== run.headSha ? previousHead : undefined;

  const defaultBranch = (await deps.github.getDefaultBranch(repo)).name;
  const title = titleOf(run);
  const existing = run.prNumber
    ? await deps.github.getPull(repo, run.prNumber)
    : await deps.github.findOpenPull(repo, branch);
  const pull =
    existing && existing.state === 'open'
      ? await deps.github.updatePull(repo, existing.number, { title, body: options.body })
      : await deps.github.createPull(repo, {
          title,
          body: options.body,
          head: branch,
          base: defaultBranch,
          draft: true,
        });

  // Serialized with a cancel on the run's version: either this write lands first (and the cancel
  // closes the PR it names), or the run is already over and the push takes its own PR back.
  const recorded = await mutateRun(deps, runId, (r) =>
    isTerminal(r.status) ? undefined : { branch, headSha, prNumber: pull.number, prUrl: pull.url },
  );
  const pushed = {
    branch,
    headSha,
    prNumber: pull.number,
    unchanged,
    withdrawn: false,
    foreignHead,
    run: recorded,
  };
  if (!isTerminal(recorded.status)) return pushed;
  const withdrawn = await withdrawChange(deps, {
    runId,
    repo: recorded.repo,
    workItemKey: recorded.workItemKey,
    prNumber: pull.number,
    branch,
    headSha,
  });
  await deps.store.appendEvent(runId, {
    type: 'change.withdrawn',
    actor: 'stage-runner',
    data: { reason: `the run ended ${recorded.status} while publishing`, ...withdrawn },
  });
  return { ...pushed, withdrawn: true };
}

export async function publish(deps: StagePorts, runId: string): Promise<PublishResult> {
  const run = await mutateRun(deps, runId, (r) => enterStage(r, 'publish', deps.now(), 'VERIFYING'));
  const files = await deps.store.listWorkspaceFiles(runId);
  if (files.length === 0) throw new Error('nothing to publish: the workspace is empty');
  const body = [
    run.issueNumber ? `Closes #${run.issueNumber}.` : undefined,
    run.planSummary ? `**Plan:** ${run.planSummary}` : undefined,
    run.kind === 'follow-up'
      ? `Continued by Code Factory follow-up run \`${run.runId}\` (asked for by @${run.followUp?.sender ?? '?'}), with commits on top of the earlier ones.`
      : `Opened by Code Factory run \`${run.runId}\`. The factory updates this PR on each attempt.`,
  ]
    .filter(Boolean)
    .join('\n\n');
  const pushed = await pushChange(deps, run, files, { body });
  const result = { headSha: pushed.headSha, prNumber: pushed.prNumber };
  if (pushed.withdrawn) return result;
  await deps.store.appendEvent(runId, {
    type: 'change.published',
    actor: 'stage-runner',
    data: {
      headSha: pushed.headSha,
      branch: pushed.branch,
      prNumber: pushed.prNumber,
      files: files.length,
      diffSha256: diffHash(files),
      ...(pushed.foreignHead ? { builtOnForeignHead: pushed.foreignHead } : {}),
    },
  });
  await updateStatusComment(deps, pushed.run);
  return result;
}
