import { describe, expect, it } from 'vitest';
import {
  approvalHtml,
  approvalSubject,
  approvalText,
  diffStatOf,
} from '../../../functions/shared/approval-email';
import { confirmPage, escapeHtml, outcomePage, refusalPage } from '../../../functions/approvals/pages';
import { reviewedRun } from './support';

const EVIL = `<script>alert("x")</script>' onmouseover='x' \`&`;

describe('escapeHtml', () => {
  it('escapes every markup-significant character', () => {
    expect(escapeHtml(`<a href="x" title='y'>&\`</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;',
    );
    expect(escapeHtml(undefined)).toBe('');
  });
});

describe('confirmation page', () => {
  const view = {
    repo: 'acme/widgets',
    prNumber: 12,
    prUrl: `https://github.test/pull/12"><script>x</script>`,
    headSha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    issueTitle: EVIL,
    planSummary: EVIL,
    approver: 'alice',
    expiresAt: new Date('2025-03-02T12:00:00Z'),
    riskyPermissions: [EVIL],
    approvalId: 'abcdefghijklmnopqrstuv',
    linkToken: 'tok"en',
    preselected: 'reject' as const,
    formTokens: { approve: 'csrf-approve', reject: 'csrf-reject' },
  };
  const html = confirmPage(view);

  it('escapes every value from the run, the contract and the link', () => {
    expect(html).not.toContain('<script>');
    expect(html).not.toContain(`' onmouseover='`);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('value="tok&quot;en"');
  });

  it('shows what, by whom and until when, and labels every control', () => {
    expect(html).toContain('acme/widgets');
    expect(html).toContain('a1b2c3d4e5f6');
    expect(html).toContain('alice');
    expect(html).toContain('2025-03-02 12:00 UTC');
    for (const id of ['comment-approve', 'comment-reject']) {
      expect(html).toMatch(new RegExp(`<label for="${id}">[^<]+</label>\\s*<textarea id="${id}"`));
    }
    expect(html).toContain('role="alert">WARNING');
    expect(html).not.toMatch(/<script|onclick|javascript:/i);
  });

  it('puts the preselected decision first and posts to the approval path without the query', () => {
    expect(html.indexOf('class="reject"')).toBeLessThan(html.indexOf('class="approve"'));
    expect(html).toContain('action="abcdefghijklmnopqrstuv"');
    expect(confirmPage({ ...view, preselected: 'approve' }).indexOf('class="approve"')).toBeLessThan(
      confirmPage({ ...view, preselected: 'approve' }).indexOf('class="reject"'),
    );
  });

  it('outcome and refusal pages escape too', () => {
    const outcome = outcomePage({ ...view, decision: 'reject', delivered: true, comment: EVIL });
    expect(outcome).toContain('<h1>Rejected</h1>');
    expect(outcome).not.toContain('<script>');
    expect(refusalPage(EVIL, EVIL)).not.toContain('<script>');
  });
});

describe('approval email', () => {
  const run = reviewedRun({ issueTitle: `Fix\r\nBcc: evil@example.test ${EVIL}`, planSummary: EVIL });
  const diff = diffStatOf([
    { path: 'src/greet.ts', status: 'modified', addedLines: ['a', 'b', 'c'], removedLineCount: 1 },
    { path: 'old.txt', status: 'deleted', addedLines: [], removedLineCount: 4 },
  ]);
  const input = {
    run,
    approver: 'alice',
    diff,
    riskyPermissions: ['dependency manifests may change'],
    expiresAt: new Date('2025-03-02T12:00:00Z'),
    approveUrl: 'https://f.example/approvals/x?t=T&d=approve',
    rejectUrl: 'https://f.example/approvals/x?t=T&d=reject',
  };

  it('computes a +/- diff stat from the change set against the base', () => {
    expect(diff).toEqual({
      files: 2,
      added: 3,
      removed: 5,
      paths: [
        { path: 'old.txt', status: 'deleted', added: 0, removed: 4 },
        { path: 'src/greet.ts', status: 'modified', added: 3, removed: 1 },
      ],
    });
    expect(approvalText(input)).toContain('2 files changed, +3 −5 lines');
    expect(approvalText(input)).toContain('src/greet.ts (modified) +3 −1');
  });

  it('has a one-line subject', () => {
    expect(approvalSubject(run)).not.toMatch(/[\r\n]/);
    expect(approvalSubject(run)).toContain('acme/widgets #12');
  });

  it('text part carries the summary, results, cost, PR, both links and a LOUD risk warning', () => {
    const text = approvalText(input);
    expect(text.startsWith('!!! WARNING: THIS REPOSITORY GRANTS RISKY PERMISSIONS !!!')).toBe(true);
    for (const expected of [
      'Checks:       success',
      'No blocking findings.',
      '$0.42',
      'https://github.test/acme/widgets/pull/12',
      '2 files changed, +3 −5 lines',
      'src/greet.ts (modified) +3 −1',
      'old.txt (deleted) +0 −4',
      `Approve: ${input.approveUrl}`,
      `Reject:  ${input.rejectUrl}`,
    ]) {
      expect(text).toContain(expected);
    }
  });

  it('html part escapes and shows the buttons and the warning', () => {
    const html = approvalHtml(input);
    expect(html).not.toContain('<script>');
    expect(html).toContain('RISKY PERMISSIONS');
    expect(html).toContain('href="https://f.example/approvals/x?t=T&amp;d=approve"');
    expect(html).toContain('Approve…');
    expect(html).toContain('Reject…');
  });
});
