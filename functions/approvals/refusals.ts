import type { HttpResult } from '../shared/http';
import { metrics } from '../shared/middleware';
import { htmlResponse, refusalPage } from './pages';

export const MAX_COMMENT_CHARS = 2000;

/** Why a request was refused: the audit reason, the HTTP status and what the page says. */
export const REFUSALS = {
  'not-found': [404, 'Link not found', 'This approval link does not exist.'],
  'bad-link-token': [
    403,
    'Link not valid',
    'This approval link is not valid. Use the link from your email as sent.',
  ],
  'cross-origin': [
    403,
    'Decision from another site',
    'This decision was not sent from the approval page itself (it came from another site or a frame), so nothing was decided. Open the link from your email and decide on that page.',
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
    'This approval link is stale: another approver decided, a newer request was sent, or a follow-up run superseded this one on its pull request.',
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

/** Thrown by the checks; caught where the request is answered, so every refusal ends the same way. */
export class Refusal extends Error {
  constructor(readonly reason: RefusalReason) {
    super(reason);
    this.name = 'ApprovalRefused';
  }
}

/** The refusal's page with its 4xx, counted per reason. */
export function refusalResponse(reason: RefusalReason, requestId: string, headOnly: boolean): HttpResult {
  const [status, title, message] = REFUSALS[reason];
  metrics.addMetric(`Approval_refused_${reason}`, 'Count', 1);
  return htmlResponse(status, refusalPage(title, message), requestId, headOnly);
}
