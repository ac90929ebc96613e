import { approvalHtml, approvalSubject, approvalText, diffStatOf } from '../shared/approval-email';
import { changeSetOf } from './boundary';
import { approvalKey, approvalUrl, csrfHashOf, signLink } from '../shared/approval-links';
import { FactoryError } from '../shared/errors';
import type { ApprovalRecord } from '../shared/ports';
import { updateStatusComment } from './comments';
import type { StagePorts } from './deps';
import { enterStage, mutateRun } from '../shared/run-state';

/** Neither the repo's factory.yml nor the deployment names anyone who may approve. */
export class NoApprovers extends FactoryError {
  constructor(repo: string) {
    super(
      'NoApprovers',
      `nobody can approve changes in ${repo}: list approvers in .github/factory.yml or set DEFAULT_APPROVERS`,
      { expose: true },
    );
  }
}

/** Grace after the links expire before the wait item may go (the state machine times out first). */
const WAIT_GRACE_SECONDS = 3600;

/**
 * approval (opened by wait.claim with the wait's token): mark the PR ready, store the task token
 * server-side as the run's approval wait, and email each approver a personal signed link. The
 * links carry an approval id and an HMAC, never the task token; functions/approvals decides and
 * answers the token.
 */
export async function requestApproval(deps: StagePorts, runId: string, taskToken: string): Promise<void> {
  const run = await mutateRun(deps, runId, (r) => ({
    ...enterStage(r, 'approval', deps.now(), 'AWAITING_APPROVAL'),
  }));
  if (!run.prNumber || !run.headSha) throw new Error('approval needs a published pull request');
  const repo = deps.repoOf(run);
  const contract = deps.contractOf(run);
  const approvers = contract.approvers.length > 0 ? contract.approvers : deps.settings.defaultApprovers;
  if (approvers.length === 0) throw new NoApprovers(run.repo);
  const key = approvalKey(await deps.secrets.get(deps.settings.approvalKeySecretId));

  await deps.github.markReadyForReview(repo, run.prNumber);

  // Links of an earlier approval wait of this run (another waitId) are stale.
  const decidedAt = deps.now();
  for (const earlier of await deps.store.listApprovalsForRun(runId)) {
    if (earlier.state === 'PENDING')
      await deps.store.decideApproval(earlier.approvalId, { state: 'SUPERSEDED', decidedAt });
  }

  const nowSeconds = Math.floor(deps.clock.now() / 1000);
  const expiresAt = nowSeconds + contract.timeouts.approvalSeconds;
  // The wait exists before any email is sent, so even an instant click finds the run waiting.
  await deps.store.putWait({
    kind: 'approval',
    key: runId,
    runId,
    taskToken,
    createdAt: deps.now(),
    expiresAt: expiresAt + WAIT_GRACE_SECONDS,
  });

  const diff = diffStatOf(await changeSetOf(deps, run));
  const expiry = new Date(expiresAt * 1000);
  const failed: string[] = [];
  for (const approver of approvers) {
    const approvalId = deps.ids.secret(16);
    const claims = { approvalId, runId, approver: approver.login, headSha: run.headSha, expiresAt };
    const token = signLink(key, claims);
    const record: ApprovalRecord = {
      ...claims,
      email: approver.email,
      state: 'PENDING',
      csrfHash: csrfHashOf(key, approvalId, token),
    };
    await deps.store.putApproval(record);
    const input = {
      run,
      approver: approver.login,
      diff,
      riskyPermissions: contract.riskyPermissions,
      expiresAt: expiry,
      approveUrl: approvalUrl(deps.settings.publicBaseUrl, approvalId, token, 'approve'),
      rejectUrl: approvalUrl(deps.settings.publicBaseUrl, approvalId, token, 'reject'),
    };
    try {
      await deps.mailer.send({
        from: deps.settings.mailFrom,
        to: [approver.email],
        subject: approvalSubject(run),
        html: approvalHtml(input),
        text: approvalText(input),
      });
    } catch (error) {
      failed.push(approver.login);
      deps.log.warn('approval email failed', {
        runId,
        approver: approver.login,
        error: error instanceof Error ? error.name : 'unknown',
      });
    }
  }
  // One reachable approver is enough to decide; nobody reachable fails the stage (and the retry re-sends).
  if (failed.length === approvers.length) throw new Error('no approval email could be sent');

  await deps.store.appendEvent(runId, {
    type: 'approval.requested',
    actor: 'stage-runner',
    data: {
      approvers: approvers.map((a) => a.login),
      headSha: run.headSha,
      expiresAt,
      ...(failed.length > 0 ? { emailFailed: failed } : {}),
    },
  });
  await updateStatusComment(
    deps,
    run,
    `Waiting for approval by ${approvers.map((a) => `@${a.login}`).join(', ')} (links sent by email, valid until ${expiry.toISOString().slice(0, 16).replace('T', ' ')} UTC).`,
  );
}
