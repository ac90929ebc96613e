import type { Run } from './domain/run';
import { escapeHtml, formatTime } from './html';

/** What changed against the base commit, as `git diff --stat` would count it. */
export interface DiffStat {
  files: number;
  added: number;
  removed: number;
  paths: Array<{ path: string; status: 'added' | 'modified' | 'deleted'; added: number; removed: number }>;
}

const MAX_PATHS_SHOWN = 25;

/** From the boundary stage's change set (functions/stages/boundary.ts changeSetOf). */
export function diffStatOf(
  changes: ReadonlyArray<{
    path: string;
    status: 'added' | 'modified' | 'deleted';
    addedLines: readonly string[];
    removedLineCount: number;
  }>,
): DiffStat {
  const paths = changes
    .map((c) => ({ path: c.path, status: c.status, added: c.addedLines.length, removed: c.removedLineCount }))
    .sort((a, b) => a.path.localeCompare(b.path));
  return {
    files: paths.length,
    added: paths.reduce((sum, p) => sum + p.added, 0),
    removed: paths.reduce((sum, p) => sum + p.removed, 0),
    paths,
  };
}

export interface ApprovalEmailInput {
  run: Run;
  approver: string;
  diff: DiffStat;
  riskyPermissions: string[];
  expiresAt: Date;
  approveUrl: string;
  rejectUrl: string;
}

/** Subjects are one line: no header folding tricks from an issue title. */
const oneLine = (value: string, max = 120): string => value.replace(/\s+/g, ' ').trim().slice(0, max);

export function approvalSubject(run: Run): string {
  const pr = run.prNumber ? `#${run.prNumber}` : run.runId;
  return oneLine(
    `[Code Factory] Approval needed: ${run.repo} ${pr}${run.issueTitle ? ` ${run.issueTitle}` : ''}`,
    200,
  );
}

function diffLine(diff: DiffStat): string {
  return `${diff.files} file${diff.files === 1 ? '' : 's'} changed, +${diff.added} −${diff.removed} lines`;
}

export function approvalText(input: ApprovalEmailInput): string {
  const { run, diff } = input;
  const lines: string[] = [];
  if (input.riskyPermissions.length > 0) {
    lines.push(
      '!!! WARNING: THIS REPOSITORY GRANTS RISKY PERMISSIONS !!!',
      ...input.riskyPermissions.map((p) => `!!! ${p}`),
      '',
    );
  }
  lines.push(
    `Hello ${input.approver},`,
    '',
    `Code Factory asks for your approval to merge a change in ${run.repo}.`,
    '',
    `Pull request: ${run.prUrl ?? (run.prNumber ? `#${run.prNumber}` : 'none')}`,
    `Head commit:  ${run.headSha ?? 'unknown'}`,
  );
  if (run.issueTitle) lines.push(`Issue:        ${run.issueTitle}`);
  lines.push(
    `Checks:       ${run.checksConclusion ?? 'unknown'}`,
    `Review:       ${run.reviewSummary ?? 'no review summary'}`,
    `Cost so far:  $${run.ledger.costUsd.toFixed(2)}`,
    '',
    'Plan:',
    run.planSummary ?? '(no plan summary)',
    '',
    `Diff: ${diffLine(diff)}`,
    ...diff.paths.slice(0, MAX_PATHS_SHOWN).map((p) => `  ${p.path} (${p.status}) +${p.added} −${p.removed}`),
    ...(diff.paths.length > MAX_PATHS_SHOWN ? [`  … and ${diff.paths.length - MAX_PATHS_SHOWN} more`] : []),
  );
  if (run.warnings.length > 0) lines.push('', 'Warnings:', ...run.warnings.map((w) => `  - ${w}`));
  lines.push(
    '',
    'Each link opens a confirmation page; nothing is decided until you confirm there.',
    `Approve: ${input.approveUrl}`,
    `Reject:  ${input.rejectUrl}`,
    '',
    `The links are personal, work once, and expire at ${formatTime(input.expiresAt)}.`,
    'A new push to the pull request makes them stale.',
  );
  return `${lines.join('\n')}\n`;
}

export function approvalHtml(input: ApprovalEmailInput): string {
  const { run, diff } = input;
  const risk =
    input.riskyPermissions.length > 0
      ? `<div style="border:3px solid #cf222e;background:#ffebe9;color:#82071e;padding:12px 16px;margin:0 0 16px;font-weight:700;font-size:16px">WARNING: this repository's contract grants RISKY PERMISSIONS: ${input.riskyPermissions
          .map((p) => `<code>${escapeHtml(p)}</code>`)
          .join(', ')}</div>`
      : '';
  const row = (label: string, value: string) =>
    `<tr><th align="left" style="padding:4px 12px 4px 0;color:#59636e;font-weight:400;vertical-align:top">${label}</th><td style="padding:4px 0">${value}</td></tr>`;
  const pr = run.prUrl
    ? `<a href="${escapeHtml(run.prUrl)}">${escapeHtml(run.prNumber ? `#${run.prNumber}` : run.prUrl)}</a>`
    : escapeHtml(run.prNumber ? `#${run.prNumber}` : 'none');
  const paths = diff.paths
    .slice(0, MAX_PATHS_SHOWN)
    .map(
      (p) =>
        `<li><code>${escapeHtml(p.path)}</code> ${p.status}, <span style="color:#1a7f37">+${p.added}</span> <span style="color:#cf222e">−${p.removed}</span></li>`,
    )
    .join('');
  const more =
    diff.paths.length > MAX_PATHS_SHOWN ? `<li>… and ${diff.paths.length - MAX_PATHS_SHOWN} more</li>` : '';
  const warnings =
    run.warnings.length > 0
      ? `<p><strong>Warnings:</strong></p><ul>${run.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>`
      : '';
  const button = (href: string, label: string, color: string) =>
    `<a href="${escapeHtml(href)}" style="display:inline-block;padding:10px 20px;margin:0 8px 8px 0;background:${color};color:#ffffff;text-decoration:none;font-weight:700;border-radius:6px">${label}</a>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(approvalSubject(run))}</title></head>
<body style="margin:0;padding:24px;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:15px;line-height:1.5;color:#1f2328">
<div style="max-width:640px">
${risk}
<p>Hello ${escapeHtml(input.approver)},</p>
<p>Code Factory asks for your approval to merge a change in <strong>${escapeHtml(run.repo)}</strong>.</p>
<table role="presentation" style="border-collapse:collapse;margin:12px 0">
${row('Pull request', pr)}
${row('Head commit', `<code>${escapeHtml(run.headSha ?? 'unknown')}</code>`)}
${run.issueTitle ? row('Issue', escapeHtml(run.issueTitle)) : ''}
${row('Checks', escapeHtml(run.checksConclusion ?? 'unknown'))}
${row('Review', escapeHtml(run.reviewSummary ?? 'no review summary'))}
${row('Cost so far', `$${run.ledger.costUsd.toFixed(2)}`)}
</table>
<p><strong>Plan</strong></p>
<p style="white-space:pre-wrap">${escapeHtml(run.planSummary ?? '(no plan summary)')}</p>
<p><strong>Diff:</strong> ${escapeHtml(diffLine(diff))}</p>
<ul style="padding-left:20px">${paths}${more}</ul>
${warnings}
<p>${button(input.approveUrl, 'Approve…', '#1a7f37')}${button(input.rejectUrl, 'Reject…', '#cf222e')}</p>
<p style="color:#59636e;font-size:13px">Each button opens a confirmation page; nothing is decided until you confirm there. The links are personal, work once, and expire at ${escapeHtml(formatTime(input.expiresAt))}. A new push to the pull request makes them stale.</p>
</div>
</body></html>
`;
}
