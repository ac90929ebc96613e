import { describe, expect, it } from 'vitest';
import { readDecisionForm } from '../../../functions/approvals/form';
import { Refusal, type RefusalReason } from '../../../functions/approvals/refusals';
import { signedApproval } from './support';

const { key, record, token, csrf } = signedApproval();
const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;

function reasonOf(fields: Array<[string, string]>): RefusalReason | 'accepted' {
  try {
    readDecisionForm(key, record, new URLSearchParams(fields));
    return 'accepted';
  } catch (error) {
    if (error instanceof Refusal) return error.reason;
    throw error;
  }
}

const valid = (decision: 'approve' | 'reject'): Array<[string, string]> => [
  ['t', token],
  ['decision', decision],
  ['csrf', csrf[decision]],
];

describe('readDecisionForm', () => {
  it('reads the decision and the comment, CRLF folded and trimmed', () => {
    const form = new URLSearchParams([...valid('reject'), ['comment', '  too risky\r\nsee #4  ']]);
    expect(readDecisionForm(key, record, form)).toEqual({ decision: 'reject', comment: 'too risky\nsee #4' });
    expect(readDecisionForm(key, record, new URLSearchParams(valid('approve')))).toEqual({
      decision: 'approve',
      comment: '',
    });
  });

  it.each<[string, Array<[string, string]>, RefusalReason]>([
    ['no link token', valid('approve').slice(1), 'bad-link-token'],
    ['a tampered link token', [['t', tampered], ...valid('approve').slice(1)], 'bad-link-token'],
    ['the link token twice', [['t', token], ...valid('approve')], 'bad-link-token'],
    ['no decision', [valid('approve')[0]!, valid('approve')[2]!], 'bad-decision'],
    [
      'a decision in capitals',
      [
        ['t', token],
        ['decision', 'APPROVE'],
        ['csrf', csrf.approve],
      ],
      'bad-decision',
    ],
    ['two decisions', [...valid('reject'), ['decision', 'approve']], 'bad-decision'],
    [
      "the other form's decision",
      [
        ['t', token],
        ['decision', 'approve'],
        ['csrf', csrf.reject],
      ],
      'decision-swapped',
    ],
    ['no anti-CSRF token', valid('approve').slice(0, 2), 'csrf-mismatch'],
    [
      'a made-up anti-CSRF token',
      [...valid('approve').slice(0, 2), ['csrf', 'x'.repeat(43)]],
      'csrf-mismatch',
    ],
    ['two comments', [...valid('approve'), ['comment', 'a'], ['comment', 'b']], 'bad-request'],
    [
      'a comment over 2000 characters',
      [...valid('approve'), ['comment', 'x'.repeat(2001)]],
      'comment-too-long',
    ],
  ])('refuses %s', (_, fields, reason) => {
    expect(reasonOf(fields)).toBe(reason);
  });

  it('counts the comment after trimming: 2000 characters and surrounding blanks pass', () => {
    expect(reasonOf([...valid('approve'), ['comment', ` ${'x'.repeat(2000)}\r\n`]])).toBe('accepted');
  });

  it('checks in order: the link before the decision, the decision before the form token', () => {
    expect(
      reasonOf([
        ['t', tampered],
        ['decision', 'maybe'],
      ]),
    ).toBe('bad-link-token');
    expect(
      reasonOf([
        ['t', token],
        ['decision', 'maybe'],
        ['csrf', 'garbage'],
      ]),
    ).toBe('bad-decision');
    expect(reasonOf([...valid('approve').slice(0, 2), ['csrf', ''], ['comment', 'x'.repeat(3000)]])).toBe(
      'csrf-mismatch',
    );
  });

  it("refuses a form signed for another approval's record", () => {
    const other = signedApproval({ approvalId: 'bobBobBobBobBobBobBo00', approver: 'bob' });
    const form = new URLSearchParams([
      ['t', other.token],
      ['decision', 'approve'],
      ['csrf', other.csrf.approve],
    ]);
    expect(() => readDecisionForm(key, record, form)).toThrow(Refusal);
  });
});
