import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { isTerminal, type Run } from '../shared/domain/run';
import { type HttpResult, header, rawBody, rawBodyLength, requestIdOf } from '../shared/http';
import { metrics, withHttpMiddleware } from '../shared/middleware';
import { fenced } from '../shared/run-cleanup';
import type {
  ApprovalDecision,
  ApprovalRecord,
  Clock,
  GitHub,
  Log,
  PendingWait,
  Secrets,
  Store,
  Workflow,
} from '../shared/ports';
import { contractOf, repoOf } from '../shared/run-contract';
import { mutateRun } from '../shared/run-state';
import {
  APPROVAL_ID,
  approvalKey,
  checkFormToken,
  formToken,
  isDecision,
  MAC_TOKEN,
  verifyLink,
} from '../shared/approval-links';
import { type ChangeSummary, confirmPage, outcomePage, PAGE_HEADERS, refusalPage } from './pages';

/**
 * GET|HEAD /approvals/{id}?t=…&d=…  renders a confirmation page and writes nothing (mail scanners
 * follow links); POST /approvals/{id} performs the decision once. Every refusal is a page with a
 * 4xx, audited on POST, and never touches the task token. docs/decisions/0002-approval-links.md.
 */
export interface ApprovalsSettings {
  approvalKeySecretId: string;
  /** Approvers for runs whose contract names none (the stage runner's fallback too). */
  defaultApprovers: Array<{ login: string; email: string }>;
  /** Larger POST bodies are refused before parsing. */
  maxBodyBytes?: number;
}

export interface ApprovalsDeps {
  store: Store;
  github: GitHub;
  workflow: Workflow;
  secrets: Secrets;
  clock: Clock;
  log: Log;
  settings: ApprovalsSettings;
}

// A 2000-character comment in a non-Latin script is ~18 KB once form-encoded (9 bytes a character).
const DEFAULT_MAX_BODY_BYTES = 32 * 1024;
const MAX_COMMENT_CHARS = 2000;
const MAX_USER_AGENT_CHARS = 500;

/** Why a request was refused: the audit reason, the HTTP status and what the page says. */
export const REFUSALS = {
  'not-found': [404, 'Link not found', 'This approval link does not exist.'],
  'bad-link-token': [
    403,
    'Link not valid',
    'This approval link is not valid. Use the link from your email as sent.',
  ],
  'bad-request': [400, 'Request not valid', 'The form was incomplete or malformed.'],
  'bad-decision': [400, 'Decision not valid', 'The decision must be exactly one of approve or reject.'],
  'csrf-mismatch': [
    403,
    'Form expired',
    'This form was not issued for this link. Open the link from your email again.',
  ],
  'decision-swapped': [
    403,
    'Decision does not match the form',
    'The submitted decision is not the one this form was issued for. Open the link from your email again.',
  ],
  'comment-too-long': [400, 'Comment too long', `Comments are limited to ${MAX_COMMENT_CHARS} characters.`],
  'already-decided': [409, 'Already decided', 'This approval link has already been used.'],
  superseded: [
    409,
    'Link replaced',
    'This approval link was replaced: another approver decided, or a newer request was sent.',
  ],
  expired: [410, 'Link expired', 'This approval link has expired.'],
  'approver-not-listed': [
    403,
    'Not an approver',
    'This link belongs to someone who is not an approver of this repository.',
  ],
  'run-not-waiting': [
    409,
    'Nothing to decide',
    'This run is no longer waiting for approval (it was decided, cancelled or has ended).',
  ],
  'stale-head': [
    409,
    'The change moved',
    'The pull request has new commits since this link was sent, so this approval no longer applies: nothing was decided. The run ends (HeadMoved) when GitHub reports the push; comment /factory retry on the issue to start a new run.',
  ],
  'unsupported-media-type': [
    415,
    'Request not valid',
    'The form must be sent as application/x-www-form-urlencoded.',
  ],
  'too-large': [413, 'Request too large', 'The form is too large.'],
} as const satisfies Record<string, readonly [number, string, string]>;
export type RefusalReason = keyof typeof REFUSALS;

class Refusal extends Error {
  constructor(readonly reason: RefusalReason) {
    super(reason);
    this.name = 'ApprovalRefused';
  }
}

function page(
  status: number,
  html: string,
  requestId: string,
  headOnly: boolean,
  extra: Record<string, string> = {},
): HttpResult {
  return {
    statusCode: status,
    headers: { ...PAGE_HEADERS, 'x-request-id': requestId, ...extra },
    body: headOnly ? '' : html,
  };
}

/** Exactly one value of a form field, or undefined when it is absent or repeated. */
function single(form: URLSearchParams, name: string): string | undefined {
  const values = form.getAll(name);
  return values.length === 1 ? values[0] : undefined;
}

export function approvalsCore(deps: ApprovalsDeps) {
  const { store, github, workflow, secrets, clock, log, settings } = deps;
  const maxBodyBytes = settings.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const iso = () => new Date(clock.now()).toISOString();
  const key = async () => approvalKey(await secrets.get(settings.approvalKeySecretId));

  const approversOf = (run: Run): string[] => {
    let listed: Array<{ login: string }> = [];
    try {
      listed = contractOf(run).approvers;
    } catch {
      listed = [];
    }
    return (listed.length > 0 ? listed : settings.defaultApprovers).map((a) => a.login.toLowerCase());
  };

  const summaryOf = (record: ApprovalRecord, run: Run): ChangeSummary => {
    let risky: string[] = [];
    try {
      risky = contractOf(run).riskyPermissions;
    } catch {
      risky = [];
    }
    return {
      repo: run.repo,
      ...(run.prNumber !== undefined ? { prNumber: run.prNumber } : {}),
      ...(run.prUrl ? { prUrl: run.prUrl } : {}),
      headSha: record.headSha,
      ...(run.issueTitle ? { issueTitle: run.issueTitle } : {}),
      ...(run.planSummary ? { planSummary: run.planSummary } : {}),
      approver: record.approver,
      expiresAt: new Date(record.expiresAt * 1000),
      riskyPermissions: risky,
    };
  };

  /** The checks GET and POST share, in order; throws a Refusal. No writes. */
  async function checkLink(record: ApprovalRecord, token: string): Promise<Run> {
    if (!verifyLink(await key(), record, token)) throw new Refusal('bad-link-token');
    return checkState(record);
  }

  async function checkState(record: ApprovalRecord): Promise<Run> {
    if (record.state === 'SUPERSEDED') {
      // Superseded because the run ended (cancelled, failed, expired) says more than "replaced".
      const run = await store.getRun(record.runId);
      const decidedByOthers = run?.status === 'SUCCEEDED' || run?.status === 'REJECTED';
      throw new Refusal(run && isTerminal(run.status) && !decidedByOthers ? 'run-not-waiting' : 'superseded');
    }
    if (record.state !== 'PENDING') throw new Refusal('already-decided');
    if (clock.now() >= record.expiresAt * 1000) throw new Refusal('expired');
    const run = await store.getRun(record.runId);
    if (!run) throw new Refusal('not-found');
    if (!approversOf(run).includes(record.approver.toLowerCase())) throw new Refusal('approver-not-listed');
    if (run.status !== 'AWAITING_APPROVAL') throw new Refusal('run-not-waiting');
    if (run.headSha !== record.headSha) throw new Refusal('stale-head');
    return run;
  }

  function refuse(reason: RefusalReason, requestId: string, headOnly: boolean): HttpResult {
    const [status, title, message] = REFUSALS[reason];
    metrics.addMetric(`Approval_refused_${reason}`, 'Count', 1);
    return page(status, refusalPage(title, message), requestId, headOnly);
  }

  async function audit(runId: string, type: string, actor: string, data: Record<string, unknown>) {
    try {
      await store.appendEvent(runId, { type, actor, data });
    } catch (error) {
      log.warn('approval audit event failed', {
        runId,
        type,
        error: error instanceof Error ? error.name : 'unknown',
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // GET / HEAD: read-only
  // ---------------------------------------------------------------------------------------------
  async function show(
    event: APIGatewayProxyEventV2,
    approvalId: string,
    requestId: string,
    headOnly: boolean,
  ) {
    const query = event.queryStringParameters ?? {};
    const token = query.t ?? '';
    const preselected: ApprovalDecision = isDecision(query.d) ? query.d : 'approve';
    if (!MAC_TOKEN.test(token)) return refuse('bad-link-token', requestId, headOnly);
    const record = await store.getApproval(approvalId);
    if (!record) return refuse('not-found', requestId, headOnly);
    try {
      const run = await checkLink(record, token);
      const signingKey = await key();
      const html = confirmPage({
        ...summaryOf(record, run),
        approvalId,
        linkToken: token,
        preselected,
        formTokens: {
          approve: formToken(signingKey, approvalId, token, 'approve'),
          reject: formToken(signingKey, approvalId, token, 'reject'),
        },
      });
      return page(200, html, requestId, headOnly);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      // Logged, not audited: an audit event is a write, and link scanners must change nothing.
      log.info('approval page refused', { requestId, runId: record.runId, reason: error.reason });
      return refuse(error.reason, requestId, headOnly);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // POST: decide exactly once
  // ---------------------------------------------------------------------------------------------
  async function decide(event: APIGatewayProxyEventV2, approvalId: string, requestId: string) {
    const userAgent = (header(event, 'user-agent') ?? event.requestContext?.http?.userAgent ?? '').slice(
      0,
      MAX_USER_AGENT_CHARS,
    );
    if (rawBodyLength(event) > maxBodyBytes) return refuse('too-large', requestId, false);
    const contentType = (header(event, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/x-www-form-urlencoded')
      return refuse('unsupported-media-type', requestId, false);
    const record = await store.getApproval(approvalId);
    if (!record) return refuse('not-found', requestId, false);
    const form = new URLSearchParams(rawBody(event).toString('utf8'));
    const token = single(form, 't') ?? '';
    let taken: PendingWait | undefined;
    let decidedHere = false;
    try {
      const signingKey = await key();
      if (!verifyLink(signingKey, record, token)) throw new Refusal('bad-link-token');
      const decision = single(form, 'decision');
      if (!isDecision(decision)) throw new Refusal('bad-decision');
      const verdict = checkFormToken(signingKey, record, token, decision, single(form, 'csrf') ?? '');
      if (verdict === 'swapped') throw new Refusal('decision-swapped');
      if (verdict !== 'ok') throw new Refusal('csrf-mismatch');
      const comments = form.getAll('comment');
      if (comments.length > 1) throw new Refusal('bad-request');
      const comment = (comments[0] ?? '').replace(/\r\n/g, '\n').trim();
      if (comment.length > MAX_COMMENT_CHARS) throw new Refusal('comment-too-long');

      const run = await checkState(record);
      if (!(await store.getWait('approval', run.runId))) throw new Refusal('run-not-waiting');
      if (!run.prNumber) throw new Refusal('run-not-waiting');
      const pull = await github.getPull(repoOf(run), run.prNumber);
      if (pull.state !== 'open' || pull.headSha !== record.headSha) throw new Refusal('stale-head');

      // The run-level gate: one conditional delete, so exactly one request (of any approver) wins.
      taken = await store.takeWait('approval', run.runId);
      if (!taken) throw new Refusal('run-not-waiting');
      const decidedAt = iso();
      decidedHere = await store.decideApproval(approvalId, {
        state: decision === 'approve' ? 'APPROVED' : 'REJECTED',
        decidedAt,
        ...(comment ? { comment } : {}),
        ...(userAgent ? { userAgent } : {}),
      });
      if (!decidedHere) throw new Refusal('already-decided');

      const cause = comment || `rejected by ${record.approver}`;
      let stillWaiting = true;
      await mutateRun({ store }, run.runId, (current) => {
        stillWaiting = current.status === 'AWAITING_APPROVAL' && current.headSha === record.headSha;
        if (!stillWaiting) return undefined;
        return decision === 'approve'
          ? { approvedSha: record.headSha, approvedBy: record.approver }
          : { error: { class: 'Rejected', cause: cause.slice(0, 4000) } };
      });
      const delivered =
        stillWaiting &&
        (decision === 'approve'
          ? await workflow.sendTaskSuccess(taken.taskToken, {
              decision: 'approve',
              approver: record.approver,
            })
          : await workflow.sendTaskFailure(taken.taskToken, 'Rejected', cause));
      taken = undefined; // answered (or undeliverable): never restore it

      await supersedeOthers(run.runId, approvalId, decidedAt);
      await audit(run.runId, 'approval.decided', record.approver, {
        approver: record.approver,
        decision,
        at: decidedAt,
        comment: comment || undefined,
        userAgent,
        headSha: record.headSha,
        delivered,
      });
      await announce(run, record, decision, comment);
      metrics.addMetric(`Approval_${decision}`, 'Count', 1);
      log.info('approval decided', {
        requestId,
        runId: run.runId,
        approver: record.approver,
        decision,
        delivered,
      });
      return page(
        200,
        outcomePage({ ...summaryOf(record, run), decision, delivered, ...(comment ? { comment } : {}) }),
        requestId,
        false,
      );
    } catch (error) {
      if (taken && !decidedHere) {
        // Nothing was decided: put the wait back so another approver (or a retry) can decide.
        await store.putWait(taken).catch(() => undefined);
      }
      if (!(error instanceof Refusal)) throw error;
      await audit(record.runId, 'approval.refused', 'approval-link', {
        approver: record.approver,
        reason: error.reason,
        userAgent,
      });
      log.info('approval refused', { requestId, runId: record.runId, reason: error.reason });
      return refuse(error.reason, requestId, false);
    }
  }

  async function supersedeOthers(runId: string, decidedId: string, decidedAt: string) {
    const records = await store.listApprovalsForRun(runId);
    for (const other of records) {
      if (other.approvalId === decidedId || other.state !== 'PENDING') continue;
      await store.decideApproval(other.approvalId, { state: 'SUPERSEDED', decidedAt });
    }
  }

  /** A comment on the issue and on the PR. Courtesy: a GitHub failure never undoes a decision. */
  async function announce(run: Run, record: ApprovalRecord, decision: ApprovalDecision, comment: string) {
    const verb = decision === 'approve' ? 'approved' : 'rejected';
    // In a fence, not a quote: the approver's words render as text (no HTML, images or @mentions).
    const quoted = comment ? `\n\n${fenced(comment)}` : '';
    const body = `@${record.approver} ${verb} commit \`${record.headSha.slice(0, 7)}\` of run \`${run.runId}\` from the approval email.${quoted}`;
    const targets = [run.issueNumber, run.prNumber].filter((n): n is number => n !== undefined);
    for (const number of new Set(targets)) {
      try {
        await github.createComment(repoOf(run), number, body);
      } catch (error) {
        log.warn('approval comment failed', {
          runId: run.runId,
          error: error instanceof Error ? error.name : 'unknown',
        });
      }
    }
  }

  return async function handleApproval(event: APIGatewayProxyEventV2): Promise<HttpResult> {
    const requestId = requestIdOf(event);
    const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
    const headOnly = method === 'HEAD';
    try {
      const approvalId = event.pathParameters?.id ?? '';
      if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
        return page(
          405,
          refusalPage('Method not allowed', 'Use the link from your email.'),
          requestId,
          false,
          {
            allow: 'GET, HEAD, POST',
          },
        );
      }
      if (!APPROVAL_ID.test(approvalId)) return refuse('not-found', requestId, headOnly);
      return method === 'POST'
        ? await decide(event, approvalId, requestId)
        : await show(event, approvalId, requestId, headOnly);
    } catch (error) {
      log.error('approval request failed', {
        requestId,
        error: error instanceof Error ? error.name : 'unknown',
      });
      metrics.addMetric('Approval_error', 'Count', 1);
      return page(
        500,
        refusalPage(
          'Something went wrong',
          'Open the link from your email again in a minute to see whether your decision was recorded.',
        ),
        requestId,
        headOnly,
      );
    }
  };
}

/** The Lambda handler: the core inside the shared middy chain. */
export function createApprovalsHandler(deps: ApprovalsDeps) {
  const handler = withHttpMiddleware(approvalsCore(deps));
  return handler as unknown as (
    event: APIGatewayProxyEventV2,
    context: Context,
  ) => Promise<APIGatewayProxyStructuredResultV2>;
}
