import { checkFormToken, isDecision, verifyLink } from '../shared/approval-links';
import type { ApprovalDecision, ApprovalRecord } from '../shared/ports';
import { MAX_COMMENT_CHARS, Refusal } from './refusals';

/**
 * The decision a POSTed form asks for, once its link token, decision, CSRF token and comment check
 * out, in that order. Pure: throws a Refusal, reads and writes nothing.
 */
export function readDecisionForm(
  signingKey: Buffer,
  record: ApprovalRecord,
  form: URLSearchParams,
): { decision: ApprovalDecision; comment: string } {
  const token = single(form, 't') ?? '';
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
  return { decision, comment };
}

/** Exactly one value of a form field, or undefined when it is absent or repeated. */
function single(form: URLSearchParams, name: string): string | undefined {
  const values = form.getAll(name);
  return values.length === 1 ? values[0] : undefined;
}
