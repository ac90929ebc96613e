import type { ApprovalDecision } from '../shared/ports';
import { escapeHtml, formatTime } from '../shared/html';
import type { HttpResult } from '../shared/http';

/**
 * Server-rendered approval pages: plain HTML that works without JavaScript, labelled form
 * controls in a natural focus order, and a small inline stylesheet (the CSP allows nothing else).
 * Every value that reaches the markup goes through `escapeHtml`.
 */

export { escapeHtml };

/** Headers of every approval page, success or refusal. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  'cache-control': 'no-store',
  // Not `no-referrer`: with it, browsers send `Origin: null` on the page's own POST. `same-origin`
  // still keeps the link token (in the GET URL) from every other site.
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
};

/** A page as the handler's answer; HEAD gets the same status and headers without the body. */
export function htmlResponse(
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

const STYLE = `
:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--bg:#fff;--card:#f6f8fa;--line:#d1d9e0;--ok:#1a7f37;--no:#cf222e;--warn:#9a6700}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--card:#151b23;--line:#3d444d;--ok:#3fb950;--no:#f85149;--warn:#d29922}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:42rem;margin:0 auto;padding:2rem 1rem}
h1{font-size:1.5rem;margin:0 0 1rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
p{margin:.5rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:1rem 0;padding:1rem;background:var(--card);border:1px solid var(--line);border-radius:6px}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}
.risk{border:2px solid var(--no);border-radius:6px;padding:.75rem 1rem;margin:1rem 0;font-weight:600}
.note{color:var(--muted);font-size:.9rem}
form{margin:1rem 0;padding:1rem;border:1px solid var(--line);border-radius:6px}
label{display:block;font-weight:600;margin-bottom:.25rem}
textarea{display:block;width:100%;min-height:5rem;padding:.5rem;font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:6px}
button{margin-top:.75rem;padding:.6rem 1.2rem;font:inherit;font-weight:600;color:#fff;border:0;border-radius:6px;cursor:pointer}
.approve button{background:var(--ok)}.reject button{background:var(--no)}
:focus-visible{outline:3px solid #0969da;outline-offset:2px}
.status{font-size:1.1rem}.status.ok{color:var(--ok)}.status.no{color:var(--no)}.status.warn{color:var(--warn)}
`;

export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(title)} · Code Factory</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export interface ChangeSummary {
  repo: string;
  prNumber?: number;
  prUrl?: string;
  headSha: string;
  issueTitle?: string;
  planSummary?: string;
  approver: string;
  expiresAt: Date;
  riskyPermissions: string[];
}

function summaryList(view: ChangeSummary): string {
  const pr =
    view.prNumber !== undefined
      ? view.prUrl
        ? `<a href="${escapeHtml(view.prUrl)}">#${escapeHtml(view.prNumber)}</a>`
        : `#${escapeHtml(view.prNumber)}`
      : 'none';
  const rows: Array<[string, string]> = [
    ['Repository', escapeHtml(view.repo)],
    ['Pull request', pr],
    ['Head commit', `<code>${escapeHtml(view.headSha.slice(0, 12))}</code>`],
  ];
  if (view.issueTitle) rows.push(['Issue', escapeHtml(view.issueTitle)]);
  if (view.planSummary) rows.push(['Plan', escapeHtml(view.planSummary)]);
  rows.push(['Approver', escapeHtml(view.approver)]);
  rows.push([
    'Link valid until',
    `<time datetime="${view.expiresAt.toISOString()}">${escapeHtml(formatTime(view.expiresAt))}</time>`,
  ]);
  return `<dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

export function riskBanner(risky: string[]): string {
  if (risky.length === 0) return '';
  return `<div class="risk" role="alert">WARNING: this repository's contract grants risky permissions: ${risky
    .map((r) => `<code>${escapeHtml(r)}</code>`)
    .join(', ')}</div>`;
}

export interface ConfirmView extends ChangeSummary {
  approvalId: string;
  linkToken: string;
  /** The decision the link preselects: its form comes first. */
  preselected: ApprovalDecision;
  formTokens: Record<ApprovalDecision, string>;
}

function decisionForm(view: ConfirmView, decision: ApprovalDecision): string {
  const approve = decision === 'approve';
  const field = `comment-${decision}`;
  // A relative action resolves to /approvals/<id> (no query string: the link token travels in the body).
  return `<form class="${decision}" method="post" action="${escapeHtml(encodeURIComponent(view.approvalId))}">
<input type="hidden" name="t" value="${escapeHtml(view.linkToken)}">
<input type="hidden" name="csrf" value="${escapeHtml(view.formTokens[decision])}">
<input type="hidden" name="decision" value="${decision}">
<label for="${field}">${approve ? 'Comment (optional)' : 'Reason for rejecting (optional, shown on the run)'}</label>
<textarea id="${field}" name="comment" maxlength="2000"></textarea>
<button type="submit">${approve ? 'Approve and merge' : 'Reject'}</button>
</form>`;
}

export function confirmPage(view: ConfirmView): string {
  const order: ApprovalDecision[] =
    view.preselected === 'reject' ? ['reject', 'approve'] : ['approve', 'reject'];
  return layout(
    'Confirm your decision',
    `<h1>Confirm your decision</h1>
<p>Nothing has been decided yet. Review the change, then approve or reject it below.</p>
${riskBanner(view.riskyPermissions)}
${summaryList(view)}
<h2>Your decision</h2>
${order.map((d) => decisionForm(view, d)).join('\n')}
<p class="note">This link works once, only for you, and only for the commit shown above.</p>`,
  );
}

export function outcomePage(
  view: ChangeSummary & { decision: ApprovalDecision; delivered: boolean; comment?: string },
): string {
  const approve = view.decision === 'approve';
  const headline = approve ? 'Approved' : 'Rejected';
  const next = !view.delivered
    ? 'Your decision was recorded, but the run had already stopped waiting.'
    : approve
      ? 'The run proceeds to merge this commit.'
      : 'The run stops and the pull request will be closed.';
  return layout(
    headline,
    `<h1>${headline}</h1>
<p class="status ${approve ? 'ok' : 'no'}" role="status">${escapeHtml(next)}</p>
${summaryList(view)}
${view.comment ? `<h2>Your comment</h2><p>${escapeHtml(view.comment)}</p>` : ''}
<p class="note">You can close this page.</p>`,
  );
}

export function refusalPage(title: string, message: string): string {
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p class="status warn" role="alert">${escapeHtml(message)}</p>
<p class="note">Nothing was changed. If you expected to decide here, ask for a new approval link.</p>`,
  );
}
