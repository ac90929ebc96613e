import { isTerminal, type Run } from '../shared/domain/run';
import { mutateRun } from '../shared/run-state';
import type { StagePorts } from './deps';
import { errorOf, type StateError } from './finalize';
import { reviewParts } from './review-pr';

/**
 * review-pr.partial (state `ReviewPrPartial`): a review run that stops before the reviewer submits
 * (out of turns, the turn ceiling, the budget spent) still answers on the pull request with ONE
 * review: it says the review is partial and why, which of the PR's files were reviewed (a large
 * PR's finished parts, the files the reviewer read) and which were not beyond the diff it was
 * shown, with the inline comments the finished parts found (REQUEST_CHANGES when one blocks,
 * otherwise COMMENT); then the run ends STOPPED.
 */

/** Files named in the body, each list (the PR's file list itself is the reference). */
const MAX_LISTED = 50;

/** The paths the reviewer read with read_file in its latest conversation. */
async function pathsRead(deps: StagePorts, run: Run): Promise<Set<string>> {
  const conversation = run.conversations.filter((c) => c.stage === 'review').at(-1);
  if (!conversation) return new Set();
  const { turns } = await deps.store.getConversationWithTurns(conversation.conversationId);
  const read = new Set<string>();
  for (const turn of turns) {
    if (turn.role !== 'assistant' || !Array.isArray(turn.content)) continue;
    for (const block of turn.content as Array<{ type?: string; name?: string; input?: { path?: unknown } }>) {
      if (block.type === 'tool_use' && block.name === 'read_file' && typeof block.input?.path === 'string')
        read.add(block.input.path.replace(/^\.?\//, ''));
    }
  }
  return read;
}

const listed = (paths: readonly string[]): string =>
  paths.length === 0
    ? 'none'
    : `${paths
        .slice(0, MAX_LISTED)
        .map((p) => `\`${p.replace(/`/g, "'")}\``)
        .join(', ')}${paths.length > MAX_LISTED ? ` and ${paths.length - MAX_LISTED} more` : ''}`;

export async function postPartialReview(
  deps: StagePorts,
  runId: string,
  stateError: StateError | null | undefined,
): Promise<{ posted: boolean }> {
  const reason = errorOf(stateError);
  const run = await mutateRun(deps, runId, (r) =>
    reason && !isTerminal(r.status) ? { error: reason } : undefined,
  );
  // Cancelled meanwhile, or a retried step that posted already: nothing more to say.
  if (isTerminal(run.status) || run.reviewId || !run.prNumber || !run.headSha) return { posted: false };
  const repo = deps.repoOf(run);
  const all = await deps.github.listPullFiles(repo, run.prNumber);
  // A large PR's finished parts were reviewed whole; the part under way, as far as it was read.
  const parts = run.reviewParts;
  const done = new Set(
    parts
      ? reviewParts(all)
          .slice(0, parts.index)
          .flat()
          .map((f) => f.path)
      : [],
  );
  const read = await pathsRead(deps, run);
  const reviewed = all.filter((f) => done.has(f.path) || read.has(f.path)).map((f) => f.path);
  const notReviewed = all.filter((f) => !done.has(f.path) && !read.has(f.path)).map((f) => f.path);
  const found = parts?.comments ?? [];
  const blocking = found.filter((c) => c.blocking).length;
  const why = run.error?.class === 'BudgetExceeded' ? 'the budget ran out' : 'it ran out of turns';
  const body = [
    `**Code Factory review (partial)**${blocking ? `: changes requested (${blocking} blocking finding${blocking === 1 ? '' : 's'} so far)` : ''}`,
    found.length
      ? `The review stopped before it finished (${why}; \`${run.error?.class ?? 'Stopped'}\`): these are the findings of the parts it finished. Do not read the rest as approved.`
      : `The review stopped before it finished (${why}; \`${run.error?.class ?? 'Stopped'}\`), so it states no findings and requests no changes. Do not read it as an approval.`,
    ...(parts?.summaries ?? []).map((text, i) => `**Part ${i + 1} of ${parts?.total}:** ${text}`),
    `Read by the reviewer (${reviewed.length} of ${all.length} files): ${listed(reviewed)}.`,
    `Not reviewed beyond the diff shown to the reviewer: ${listed(notReviewed)}.`,
    'Comment `/factory review` to ask again; a larger `limits.turns.review` or `budget_usd` in `.github/factory.yml` lets it finish.',
    `---\nRun \`${run.runId}\` · $${run.ledger.costUsd.toFixed(2)} · ${run.ledger.llmCalls} model calls\n<!-- code-factory:review ${run.runId} -->`,
  ].join('\n\n');
  const posted = await deps.github.createReview(repo, run.prNumber, {
    body: body.slice(0, 60_000),
    // Blocking findings of finished parts still request changes; never APPROVE.
    event: blocking ? 'REQUEST_CHANGES' : 'COMMENT',
    commitSha: run.headSha,
    comments: found.map((c) => ({
      path: c.path,
      line: c.line,
      side: c.side,
      body: c.blocking ? `**Blocking:** ${c.body}` : c.body,
    })),
  });
  await mutateRun(deps, runId, () => ({ reviewId: posted.id }));
  await deps.store.appendEvent(runId, {
    type: 'review.posted',
    actor: 'stage-runner',
    data: {
      prNumber: run.prNumber,
      reviewId: posted.id,
      event: blocking ? 'REQUEST_CHANGES' : 'COMMENT',
      partial: true,
      comments: found.length,
      reviewed: reviewed.length,
      notReviewed: notReviewed.length,
      reason: run.error?.class,
    },
  });
  return { posted: true };
}
