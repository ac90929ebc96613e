import { costOfRun } from '../../functions/shared/domain/infra-cost';
import type { Run, WorkItem } from '../../functions/shared/domain/run';
import type { ApprovalRecord, StoredAuditEvent } from '../../functions/shared/ports';
import { escapeHtml, formatTime, formatUsd, layout, link } from './html';
import { statusBadge } from './pages';

/**
 * A WorkItem's whole thread on one page: every run (newest first) with its kind, PR, checks,
 * approvals, merge commit and cost, then the timeline of all its runs' audit events in time order.
 */

export interface WorkItemRun {
  run: Run;
  approvals: ApprovalRecord[];
  events: StoredAuditEvent[];
}

export interface WorkItemPageView {
  key: string;
  workItem?: WorkItem;
  runs: WorkItemRun[];
  forgeWebUrl: string;
}

const dash = '<span class="muted">—</span>';

export function workItemPage(view: WorkItemPageView): string {
  const rows = view.runs
    .map(({ run, approvals }) => {
      const cost = costOfRun(run);
      const decided = approvals.map((a) => `${escapeHtml(a.approver)}: ${escapeHtml(a.state)}`).join(', ');
      return `<tr data-run-id="${escapeHtml(run.runId)}"><td><a href="/runs/${escapeHtml(run.runId)}" class="mono">${escapeHtml(run.runId)}</a></td>
<td data-field="kind">${escapeHtml(run.kind)}</td><td>${statusBadge(run.status)}</td>
<td data-field="pr">${run.prUrl ? link(run.prUrl, `PR #${run.prNumber ?? '?'}`) : dash}</td>
<td data-field="checks">${run.checksConclusion ? escapeHtml(run.checksConclusion) : dash}</td>
<td data-field="approvals">${decided || dash}</td>
<td data-field="merge">${run.mergedSha ? `<code title="${escapeHtml(run.mergedSha)}">${escapeHtml(run.mergedSha.slice(0, 10))}</code>` : dash}</td>
<td class="num" data-field="cost">${formatUsd(cost.totalUsd)}<div class="small muted">model ${formatUsd(cost.modelUsd)} · infra ${formatUsd(cost.infraUsd)}</div></td></tr>`;
    })
    .join('\n');
  const events = view.runs
    .flatMap(({ run, events: list }) => list.map((event) => ({ runId: run.runId, event })))
    .sort((a, b) => a.event.at.localeCompare(b.event.at) || a.event.seq - b.event.seq);
  const timeline = events
    .map(
      ({ runId, event }) =>
        `<tr data-run-id="${escapeHtml(runId)}"><td class="small">${formatTime(event.at)}</td><td class="mono small">${escapeHtml(runId.slice(-8))} #${event.seq}</td><td><strong>${escapeHtml(event.type)}</strong></td><td>${escapeHtml(event.actor)}</td></tr>`,
    )
    .join('\n');
  const title = view.workItem?.title ?? view.runs[0]?.run.issueTitle ?? view.key;
  const [repo, issue] = view.key.split('#');
  return layout(
    { title: `Work item ${view.key}`, nav: 'runs', live: true },
    `<p class="small"><a href="/">← All runs</a></p>
<h1>${escapeHtml(title)}</h1>
<p class="muted">${issue ? link(`${view.forgeWebUrl}/${repo}/issues/${issue}`, view.key) : escapeHtml(view.key)} · ${view.runs.length} run${view.runs.length === 1 ? '' : 's'}</p>
<h2>Runs</h2>
${
  view.runs.length === 0
    ? '<div class="empty"><p>No runs on this work item.</p></div>'
    : `<table aria-label="Work item runs"><thead><tr><th>Run</th><th>Kind</th><th>Status</th><th>Pull request</th><th>Checks</th><th>Approvals</th><th>Merge commit</th><th class="num">Cost</th></tr></thead><tbody>
${rows}
</tbody></table>`
}
<h2>Timeline</h2>
${events.length === 0 ? '<p class="muted">No audit event yet.</p>' : `<table aria-label="Work item timeline"><thead><tr><th>At</th><th>Run · seq</th><th>Event</th><th>Actor</th></tr></thead><tbody>\n${timeline}\n</tbody></table>`}`,
  );
}
