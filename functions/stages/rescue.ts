import { WRITERS } from '../shared/domain/permission';
import { isTerminal, type Run } from '../shared/domain/run';
import type { RepoRef, WorkspaceFile } from '../shared/ports';
import { enterStage, mutateRun } from '../shared/run-state';
import { AdmissionRefusedError } from './admission-refused';
import { updateStatusComment } from './comments';
import type { StagePorts } from './deps';
import { diffHash, treeEntriesOf } from './publish';

/**
 * A rescue run (`/factory rescue` on a pull request whose checks fail, `POST /v1/runs {kind:
 * "rescue", repo, pr}`; states `RescuePr*`): read the failing CI on the PR's head, fix it on the
 * PR's own branch with the implement stage, the boundary and the CI fix loop, and push each fix as
 * a commit on top of the head, never forced. No merge, no approval email, and nothing is ever
 * closed or deleted (shared/end-run.ts withdraws change runs only).
 */

export interface RescueStart {
  prNumber: number;
  prUrl: string;
  headSha: string;
  branch: string;
}

/**
 * Admit's part: the PR is open, its branch is in this repository (a fork's is not ours to push
 * to) and not the default branch, and whoever asked may push to it. A refusal is BLOCKED with its
 * class (the state machine routes these classes there) and said on the PR by admit.
 */
export async function rescueStart(
  deps: StagePorts,
  run: Run,
  defaultBranch: string,
): Promise<RescueStart | undefined> {
  if (run.kind !== 'rescue') return undefined;
  const prNumber = run.prNumber ?? run.issueNumber;
  if (!prNumber) throw new AdmissionRefusedError('PullNotOpen', 'a rescue needs a pull request number');
  const repo = deps.repoOf(run);
  const pull = await deps.github.getPull(repo, prNumber);
  if (pull.state !== 'open' || pull.merged)
    throw new AdmissionRefusedError(
      'PullNotOpen',
      `pull request #${prNumber} is ${pull.merged ? 'merged' : 'closed'}; a rescue fixes an open one. Nothing was changed.`,
    );
  if (pull.headRepo?.toLowerCase() !== run.repo.toLowerCase())
    throw new AdmissionRefusedError(
      'ForkPullRequest',
      `pull request #${prNumber} comes from ${pull.headRepo ? `the fork ${pull.headRepo}` : 'a fork that no longer exists'}: Code Factory pushes only to branches of ${run.repo}, so it cannot fix this one. Nothing was changed.`,
    );
  if (pull.headRef === defaultBranch)
    throw new AdmissionRefusedError(
      'ProtectedBranch',
      `pull request #${prNumber} is from ${defaultBranch}, the default branch: a rescue never pushes there. Nothing was changed.`,
    );
  // The webhook checked the sender when it started the run; the push is later, so check again. A
  // run started or retried through the API (sender `api:<key>`, never a GitHub login) was
  // authorised by its key's `runs:write` scope and repository patterns.
  if (!run.trigger.sender.startsWith('api:')) {
    const permission = await deps.github.getPermission(repo, run.trigger.sender);
    if (!WRITERS.has(permission))
      throw new AdmissionRefusedError(
        'SenderCannotPush',
        `@${run.trigger.sender} has ${permission} permission on ${run.repo}: a rescue pushes to the pull request's branch, which needs write access. Nothing was changed.`,
      );
  }
  return { prNumber, prUrl: pull.url, headSha: pull.headSha, branch: pull.headRef };
}

/** The implement prompt's rescue block: whose work this is and what to do with it. */
export function rescueBlock(run: Run): string | undefined {
  if (run.kind !== 'rescue') return undefined;
  return `This is a rescue of pull request #${run.prNumber ?? run.issueNumber} (branch ${run.branch ?? '?'}): your workspace is its head, holding its author's change, and its checks fail. Find the cause in the CI evidence below and fix it with the smallest change on top of the author's work; do not rewrite their change or do anything else. The contract still applies.`;
}

/** Rounds of read-the-head-then-push: the first, one re-apply over someone's push, one spare. */
const MAX_PUSH_ROUNDS = 3;

const isRejectedPush = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { status?: unknown }).status === 422;

/** Paths of the pending change that someone else changed between `from` and `to`. */
async function changedMeanwhile(
  deps: StagePorts,
  repo: RepoRef,
  from: string,
  to: string,
  files: readonly WorkspaceFile[],
): Promise<string[]> {
  const clashes: string[] = [];
  for (const file of files) {
    const [before, after] = await Promise.all([
      deps.github.getFile(repo, file.path, from),
      deps.github.getFile(repo, file.path, to),
    ]);
    if (before?.sha !== after?.sha) clashes.push(file.path);
  }
  return clashes;
}

export type RescuePushOutcome = 'pushed' | 'stopped';

/**
 * rescue-pr.push (state `RescuePrPush`): the pending change as one commit on the PR's branch, on
 * top of its head. When the head is not the one this run works from (someone pushed meanwhile,
 * or GitHub rejected the update as not a fast forward), it re-reads the head and re-applies the
 * change on it once, provided nobody touched the same files; otherwise it stops, saying why.
 */
export async function pushRescue(deps: StagePorts, runId: string): Promise<{ outcome: RescuePushOutcome }> {
  let run = await mutateRun(deps, runId, (r) => enterStage(r, 'publish', deps.now(), 'VERIFYING'));
  if (!run.branch || !run.baseSha || !run.headSha) throw new Error('rescue run has no branch or head');
  const repo = deps.repoOf(run);
  const ref = `heads/${run.branch}`;
  const files = await deps.store.listWorkspaceFiles(runId);
  const stop = async (cause: string) => {
    await mutateRun(deps, runId, (r) =>
      isTerminal(r.status) ? undefined : { error: { class: 'HeadMoved', cause } },
    );
    return { outcome: 'stopped' as const };
  };
  const subject = (run.commitMessage ?? 'Fix the failing checks').split('\n')[0]?.slice(0, 200) ?? '';
  /** The base's tree with the pending change on it (deletions only of files the base has). */
  const treeOf = async (at: Run): Promise<string> => {
    const entries = await treeEntriesOf(deps, at, files);
    return deps.github.createTree(repo, await deps.github.getCommitTree(repo, at.baseSha as string), entries);
  };
  const recordPush = async (commit: string) => {
    const pushed = await mutateRun(deps, runId, (r) => ({
      headSha: commit,
      rescue: {
        pushes: [...(r.rescue?.pushes ?? []), { sha: commit, subject }].slice(-20),
        reapplied: r.rescue?.reapplied ?? false,
      },
    }));
    await deps.store.appendEvent(runId, {
      type: 'change.published',
      actor: 'stage-runner',
      data: {
        headSha: commit,
        branch: run.branch,
        prNumber: run.prNumber,
        files: files.length,
        diffSha256: diffHash(files),
      },
    });
    await updateStatusComment(deps, pushed);
    return { outcome: 'pushed' as const };
  };
  for (let round = 0; round < MAX_PUSH_ROUNDS; round++) {
    const head = await deps.github.getRef(repo, ref);
    if (!head) return stop(`the branch ${run.branch} no longer exists; nothing was pushed`);
    // A retried step whose push landed before it was recorded finds its own tree at the head.
    const expected = run.headSha as string;
    if (head !== expected && (await deps.github.getCommitTree(repo, head)) === (await treeOf(run)))
      return recordPush(head);
    if (head !== expected) {
      if (run.rescue?.reapplied)
        return stop(
          `someone pushed to ${run.branch} again (now at ${head.slice(0, 7)}) while the fix was being made; it was re-applied once already, so it stops here without pushing`,
        );
      const clashes = await changedMeanwhile(deps, repo, expected, head, files);
      if (clashes.length > 0)
        return stop(
          `someone pushed to ${run.branch} (now at ${head.slice(0, 7)}) changing the files the fix changes (${clashes.slice(0, 10).join(', ')}); nothing was pushed over their work`,
        );
      // Their commit becomes the base: the fix's files go on top of it, theirs stay as they are.
      run = await mutateRun(deps, runId, (r) => ({
        baseSha: head,
        headSha: head,
        rescue: { pushes: r.rescue?.pushes ?? [], reapplied: true },
      }));
      await deps.store.appendEvent(runId, {
        type: 'rescue.reapplied',
        actor: 'stage-runner',
        data: { branch: run.branch, from: expected, onto: head, files: files.length },
      });
    }
    const message = `${run.commitMessage ?? subject}\n\nCode-Factory-Run: ${runId}`;
    const commit = await deps.github.createCommit(repo, message, await treeOf(run), [head]);
    try {
      await deps.github.updateRef(repo, ref, commit, false);
    } catch (error) {
      // Someone pushed between the read and the update: read the head again.
      if (isRejectedPush(error)) continue;
      throw error;
    }
    return recordPush(commit);
  }
  // A protected branch answers 422 too, with the head unchanged.
  return stop(
    `GitHub kept rejecting the push to ${run.branch} (not a fast forward, or a protected branch); nothing was pushed`,
  );
}
