import { describe, expect, it } from 'vitest';
import {
  approvalKey,
  approvalUrl,
  checkFormToken,
  csrfHashOf,
  formToken,
  type LinkClaims,
  signLink,
  verifyLink,
} from '../../../functions/shared/approval-links';
import { SIGNING_KEY } from './support';

const key = approvalKey(SIGNING_KEY);
const claims: LinkClaims = {
  approvalId: 'abcdefghijklmnopqrstuv',
  runId: '01JNZ8Q2W3E4R5T6Y7U8I9O0PA'.replace(/[IO]/g, '1'),
  approver: 'alice',
  headSha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
  expiresAt: 1_740_000_000,
};

describe('link tokens', () => {
  it('verify for the exact claims they were signed over', () => {
    const token = signLink(key, claims);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(verifyLink(key, claims, token)).toBe(true);
  });

  it.each([
    ['approvalId', { approvalId: 'abcdefghijklmnopqrstuw' }],
    ['runId', { runId: '01JNZ8Q2W3E4R5T6Y7U8191PB0' }],
    ['approver', { approver: 'mallory' }],
    ['approver case', { approver: 'Alice' }],
    ['headSha', { headSha: 'ffffffffffffffffffffffffffffffffffffffff' }],
    ['expiresAt', { expiresAt: claims.expiresAt + 1 }],
  ] as const)('fail when %s is changed', (_field, change) => {
    const token = signLink(key, claims);
    expect(verifyLink(key, { ...claims, ...change }, token)).toBe(false);
  });

  it('fail for a flipped character, a truncated token, padding, and another key', () => {
    const token = signLink(key, claims);
    const flipped = `${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`;
    expect(verifyLink(key, claims, flipped)).toBe(false);
    expect(verifyLink(key, claims, token.slice(0, 42))).toBe(false);
    expect(verifyLink(key, claims, `${token}=`)).toBe(false);
    expect(verifyLink(key, claims, '')).toBe(false);
    const otherKey = approvalKey(`${SIGNING_KEY}-rotated`);
    expect(verifyLink(otherKey, claims, token)).toBe(false);
  });

  it('field boundaries are unambiguous (moving characters between fields changes the MAC)', () => {
    const a = signLink(key, { ...claims, approver: 'ali', headSha: `ce${claims.headSha}` });
    const b = signLink(key, { ...claims, approver: 'alice', headSha: claims.headSha });
    expect(a).not.toBe(b);
  });

  it('refuses a short signing key', () => {
    expect(() => approvalKey('too-short')).toThrow(/at least 32 bytes/);
  });

  it('builds the email link with the token and the preselected decision only', () => {
    const url = new URL(approvalUrl('https://f.example/', claims.approvalId, 'tok', 'reject'));
    expect(url.pathname).toBe(`/approvals/${claims.approvalId}`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ t: 'tok', d: 'reject' });
  });
});

describe('form (anti-CSRF) tokens', () => {
  const token = signLink(key, claims);
  const record = { approvalId: claims.approvalId, csrfHash: csrfHashOf(key, claims.approvalId, token) };

  it('accept the token issued for the posted decision', () => {
    for (const decision of ['approve', 'reject'] as const) {
      const csrf = formToken(key, claims.approvalId, token, decision);
      expect(checkFormToken(key, record, token, decision, csrf)).toBe('ok');
    }
  });

  it('report the other decision swapped in', () => {
    const rejectForm = formToken(key, claims.approvalId, token, 'reject');
    expect(checkFormToken(key, record, token, 'approve', rejectForm)).toBe('swapped');
  });

  it('refuse tokens of another approval, another link, garbage, or a record with another hash', () => {
    const other = formToken(key, 'zzzzzzzzzzzzzzzzzzzzzz', token, 'approve');
    expect(checkFormToken(key, record, token, 'approve', other)).toBe('mismatch');
    expect(checkFormToken(key, record, token, 'approve', 'x'.repeat(43))).toBe('mismatch');
    expect(checkFormToken(key, record, token, 'approve', '')).toBe('mismatch');
    const csrf = formToken(key, claims.approvalId, token, 'approve');
    expect(checkFormToken(key, { ...record, csrfHash: '0'.repeat(64) }, token, 'approve', csrf)).toBe(
      'mismatch',
    );
  });

  it('the stored hash never equals a usable token', () => {
    const csrf = formToken(key, claims.approvalId, token, 'approve');
    expect(record.csrfHash).toMatch(/^[0-9a-f]{64}$/);
    expect(record.csrfHash).not.toContain(csrf);
  });
});
