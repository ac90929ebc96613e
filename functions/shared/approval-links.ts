import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { ApprovalDecision, ApprovalRecord } from './ports';

/**
 * Approval links and their form tokens (docs/decisions/0002-approval-links.md).
 *
 * - link token `t` = base64url(HMAC-SHA256(key, claims)) over {approval id, run id, approver,
 *   head SHA, expiry}: the link carries only the opaque approval id and this MAC, never the
 *   Step Functions task token. The verifier recomputes it from the stored approval record.
 * - form tokens: one per decision, HMAC(seed, decision) where seed = HMAC(key, {id, t}); the
 *   record stores sha256(seed) at creation. The GET page can render them without any write, and
 *   a form rendered for one decision cannot carry the other (a "swapped decision").
 */
export type LinkClaims = Pick<ApprovalRecord, 'approvalId' | 'runId' | 'approver' | 'headSha' | 'expiresAt'>;

export const isDecision = (value: unknown): value is ApprovalDecision =>
  value === 'approve' || value === 'reject';

/** 16 random bytes as base64url (what `ids.secret(16)` makes). */
export const APPROVAL_ID = /^[A-Za-z0-9_-]{22}$/;
/** A SHA-256 MAC as base64url, unpadded. */
export const MAC_TOKEN = /^[A-Za-z0-9_-]{43}$/;

const MIN_KEY_BYTES = 32;
const LINK_DOMAIN = 'code-factory/approval-link/v1';
const FORM_DOMAIN = 'code-factory/approval-form/v1';

/** The signing key from its Secrets Manager value; a short key fails closed. */
export function approvalKey(secretValue: string): Buffer {
  const key = Buffer.from(secretValue.trim(), 'utf8');
  if (key.length < MIN_KEY_BYTES) {
    throw new Error(`the approval signing key must be at least ${MIN_KEY_BYTES} bytes`);
  }
  return key;
}

const mac = (key: Buffer, parts: Array<string | number>): Buffer =>
  // JSON of an array: unambiguous field boundaries whatever the values contain.
  createHmac('sha256', key).update(JSON.stringify(parts)).digest();

export function signLink(key: Buffer, claims: LinkClaims): string {
  return mac(key, [
    LINK_DOMAIN,
    claims.approvalId,
    claims.runId,
    claims.approver,
    claims.headSha,
    claims.expiresAt,
  ]).toString('base64url');
}

/** Constant-time comparison of two base64url/hex strings (false on any length or format mismatch). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    // Still spend the comparison so timing does not reveal the length check alone.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

export function verifyLink(key: Buffer, claims: LinkClaims, token: string): boolean {
  if (!MAC_TOKEN.test(token)) return false;
  return safeEqual(signLink(key, claims), token);
}

function formSeed(key: Buffer, approvalId: string, linkToken: string): Buffer {
  return mac(key, [FORM_DOMAIN, approvalId, linkToken]);
}

/** What the approval record stores at creation: sha256 (hex) of the form-token seed. */
export function csrfHashOf(key: Buffer, approvalId: string, linkToken: string): string {
  return createHash('sha256')
    .update(formSeed(key, approvalId, linkToken))
    .digest('hex');
}

/** The anti-CSRF token of the form that submits `decision`. */
export function formToken(
  key: Buffer,
  approvalId: string,
  linkToken: string,
  decision: ApprovalDecision,
): string {
  return createHmac('sha256', formSeed(key, approvalId, linkToken))
    .update(`decision:${decision}`)
    .digest('base64url');
}

export type FormTokenVerdict = 'ok' | 'swapped' | 'mismatch';

/**
 * Checks a POSTed form token against the record: the seed must hash to the stored csrfHash, and
 * the token must be the one issued for the POSTed decision. A token issued for the OTHER decision
 * is reported as `swapped`.
 */
export function checkFormToken(
  key: Buffer,
  record: Pick<ApprovalRecord, 'approvalId' | 'csrfHash'>,
  linkToken: string,
  decision: ApprovalDecision,
  token: string,
): FormTokenVerdict {
  if (!MAC_TOKEN.test(token)) return 'mismatch';
  if (!safeEqual(csrfHashOf(key, record.approvalId, linkToken), record.csrfHash)) return 'mismatch';
  if (safeEqual(formToken(key, record.approvalId, linkToken, decision), token)) return 'ok';
  const other: ApprovalDecision = decision === 'approve' ? 'reject' : 'approve';
  return safeEqual(formToken(key, record.approvalId, linkToken, other), token) ? 'swapped' : 'mismatch';
}

/** The link in the email: GET shows the confirmation page; `d` only preselects a decision. */
export function approvalUrl(
  publicBaseUrl: string,
  approvalId: string,
  token: string,
  decision: ApprovalDecision,
): string {
  const base = publicBaseUrl.replace(/\/+$/, '');
  const query = new URLSearchParams({ t: token, d: decision });
  return `${base}/approvals/${encodeURIComponent(approvalId)}?${query.toString()}`;
}
