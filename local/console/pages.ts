import { costOfRun, type RunCost } from '../../functions/shared/domain/infra-cost';
import { isTerminal, type Run, type RunStatus, type StageRecord } from '../../functions/shared/domain/run';
import type { ApprovalRecord, LedgerEntry, StoredAuditEvent } from '../../functions/shared/ports';
import type { StoredEmail } from '../emulators/ses';
import { copilotPanel } from './copilot-panel';
import {
  escapeHtml,
  formatAge,
  formatDuration,
  formatInt,
  formatTime,
  formatUsd,
  layout,
  link,
  linkify,
} from './html';

/**
 * The console's pages as pure functions of the data the server loaded, so what a person sees
 * depends on nothing else. Every value from the store, the mail store or the forge is escaped.
 */

/** How often pages that show active runs reload themselves. */
export const REFRESH_SECONDS = 5;

type Tone = 'ok' | 'no' | 'warn' | 'run' | 'idle';

export const RUN_TONES: Partial<Record<RunStatus, Tone>> = {
  QUEUED: 'idle',
  SUCCEEDED: 'ok',
  FAILED: 'no',
  REJECTED: 'no',
  EXPIRED: 'no',
  TIMED_OUT: 'no',
  BLOCKED: 'warn',
  CANCELLED: 'idle',
  STOPPED: 'warn',
  AWAITING_APPROVAL: 'warn',
  AWAITING_CLARIFICATION: 'warn',
};
const STAGE_TONES: Record<StageRecord['status'], Tone> = {
  RUNNING: 'run',
  SUCCEEDED: 'ok',
  FAILED: 'no',
  SKIPPED: 'idle',
  WAITING: 'warn',
};

/** `live`: the run page's script updates this badge in place. */
export function statusBadge(status: RunStatus, live = false): string {
  return `<span class="badge ${RUN_TONES[status] ?? 'run'}"${live ? ' data-live="status"' : ''} data-status="${escapeHtml(status)}">${escapeHtml(status.replaceAll('_', ' '))}</span>`;
}

const stageBadge = (status: StageRecord['status']): string =>
  `<span class="badge ${STAGE_TONES[status]}">${escapeHtml(status)}</span>`;

const shortSha = (sha: string | undefined): string =>
  sha
    ? `<code title="${escapeHtml(sha)}">${escapeHtml(sha.slice(0, 10))}</code>`
    : '<span class="muted">—</span>';

const empty = (html: string): string => `<div class="empty">${html}</div>`;

/** The issue link on the forge's web pages (`/owner/repo/issues/N`). */
const issueLink = (run: Run, forgeWebUrl: string): string => {
  const label = run.issueNumber ? `${run.repo}#${run.issueNumber}` : run.repo;
  return run.issueNumber
    ? link(`${forgeWebUrl}/${run.repo}/issues/${run.issueNumber}`, label)
    : escapeHtml(label);
};

const prLink = (run: Run): string =>
  run.prUrl ? link(run.prUrl, `PR #${run.prNumber ?? '?'}`) : '<span class="muted">—</span>';

// ---------------------------------------------------------------------------------------------
// Runs list
// ---------------------------------------------------------------------------------------------

export interface RunsView {
  runs: Run[];
  now: number;
  forgeWebUrl: string;
  sampleRepo: string;
  /** Show the copilot panel (the console has the API proxy). */
  copilot?: boolean;
}

export function runsPage(view: RunsView): string {
  const rows = view.runs
    .map(
      (run) => `<tr data-run-id="${escapeHtml(run.runId)}">
<td><a href="/runs/${escapeHtml(run.runId)}" class="mono">${escapeHtml(run.runId)}</a><div class="small muted">${escapeHtml(run.kind)} · by ${escapeHtml(run.trigger.sender)}</div></td>
<td>${issueLink(run, view.forgeWebUrl)}<div class="small">${escapeHtml(run.issueTitle ?? run.task?.slice(0, 120) ?? '')}</div></td>
<td>${statusBadge(run.status)}</td>
<td>${escapeHtml(run.stage ?? '—')}</td>
<td class="num">${formatUsd(run.ledger.costUsd)}</td>
<td title="${escapeHtml(run.createdAt)}">${escapeHtml(formatAge(run.createdAt, view.now))}</td>
<td>${prLink(run)}</td>
</tr>`,
    )
    .join('\n');
  const body =
    view.runs.length === 0
      ? empty(
          `<p><strong>No runs yet.</strong></p><p>Label issue ${link(`${view.forgeWebUrl}/${view.sampleRepo}/issues/1`, `${view.sampleRepo}#1`)} with <code>factory</code> on the forge, or run <code>npm run demo</code>, and the run shows up here.</p>`,
        )
      : `<table aria-label="Runs">
<thead><tr><th>Run</th><th>Work item</th><th>Status</th><th>Stage</th><th class="num">Cost</th><th>Started</th><th>Pull request</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
  // The list keeps itself current (live-page-script.ts): only its region is swapped, never the
  // copilot panel above it, so a question or an answer stays where it is.
  return layout(
    { title: 'Runs', nav: 'runs', live: true },
    `<h1>Runs</h1>
${view.copilot ? copilotPanel() : ''}
<div data-live-region="runs">
<p class="muted">Newest first; the list keeps itself current.</p>
${body}
</div>`,
  );
}

// ---------------------------------------------------------------------------------------------
// Run detail
// ---------------------------------------------------------------------------------------------

export interface RunDetailView {
  run: Run;
  events: StoredAuditEvent[];
  /** More events exist than were loaded. */
  eventsTruncated: boolean;
  ledger: LedgerEntry[];
  approvals: ApprovalRecord[];
  budget?: { limitUsd: number; reservedUsd: number; spentUsd: number };
  now: number;
  forgeWebUrl: string;
  /** The page updates itself through the console's API proxy instead of reloading. */
  live?: boolean;
}

const fact = (label: string, value: string): string => `<div><dt>${label}</dt><dd>${value}</dd></div>`;

function stageEnd(stage: StageRecord, now: number): number {
  const start = Date.parse(stage.startedAt);
  if (stage.ms !== undefined) return start + stage.ms;
  if (stage.endedAt) return Date.parse(stage.endedAt);
  return stage.status === 'RUNNING' || stage.status === 'WAITING' ? now : start;
}

/** One row per stage attempt, with a Gantt bar placed on the run's own time axis. */
function timeline(stages: StageRecord[], now: number): string {
  if (stages.length === 0) return empty('<p>No stage has started yet.</p>');
  const spans = stages.map((stage) => ({
    stage,
    start: Date.parse(stage.startedAt),
    end: stageEnd(stage, now),
  }));
  const origin = Math.min(...spans.map((s) => s.start));
  const total = Math.max(1, Math.max(...spans.map((s) => s.end)) - origin);
  const rows = spans
    .map(({ stage, start, end }) => {
      const ms = Math.max(0, end - start);
      const x = ((start - origin) / total) * 1000;
      const width = Math.max(3, (ms / total) * 1000);
      const open = stage.status === 'RUNNING' || stage.status === 'WAITING';
      const attempt = stage.attempt ? ` <span class="small muted">attempt ${stage.attempt}</span>` : '';
      return `<tr data-stage="${escapeHtml(stage.name)}">
<td><strong>${escapeHtml(stage.name)}</strong>${attempt}${stage.note ? `<div class="small muted">${escapeHtml(stage.note)}</div>` : ''}</td>
<td>${stageBadge(stage.status)}</td>
<td class="num">${formatDuration(ms)}${open ? ' <span class="small muted">so far</span>' : ''}</td>
<td class="bar"><svg class="gantt" viewBox="0 0 1000 14" preserveAspectRatio="none" role="img" aria-label="${escapeHtml(`${stage.name}: ${formatDuration(ms)}`)}"><rect class="${STAGE_TONES[stage.status]}" x="${x.toFixed(1)}" y="0" width="${Math.min(width, 1000 - x).toFixed(1)}" height="14" rx="2"/></svg></td>
</tr>`;
    })
    .join('\n');
  return `<table aria-label="Stage timeline">
<thead><tr><th>Stage</th><th>Status</th><th class="num">Duration</th><th>Timeline <span class="muted">(${formatDuration(total)} in all)</span></th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

/** The infra estimate by service (functions/shared/domain/infra-cost.ts says how it is made). */
function infraSection(cost: RunCost): string {
  const i = cost.infra;
  return `<table aria-label="Infra cost">
<thead><tr><th class="num">Step Functions</th><th class="num">Lambda</th><th class="num">DynamoDB</th><th class="num">SQS</th><th class="num">Infra (USD)</th><th class="num">Model (USD)</th></tr></thead>
<tbody><tr><td class="num">${formatUsd(i.stepFunctionsUsd)} <span class="small muted">${formatInt(i.transitions)} transitions</span></td>
<td class="num">${formatUsd(i.lambdaUsd)} <span class="small muted">${i.lambdaGbSeconds.toFixed(2)} GB-s${i.sandboxSeconds > 0 ? `; sandbox ${i.sandboxSeconds} s, billed in the ledger` : ''}</span></td>
<td class="num">${formatUsd(i.dynamoUsd)}</td><td class="num">${formatUsd(i.sqsUsd)}</td>
<td class="num"><strong>${formatUsd(cost.infraUsd)}</strong></td><td class="num"><strong>${formatUsd(cost.modelUsd)}</strong></td></tr></tbody>
</table>
<p class="small muted">Infra cost is estimated from what the run recorded (model calls, stage attempts, item writes) at AWS list prices.</p>`;
}

function ledgerSection(run: Run, entries: LedgerEntry[], budget: RunDetailView['budget']): string {
  const totals = run.ledger;
  const budgetLine = budget
    ? `<p class="muted">Budget ${formatUsd(budget.limitUsd)}: ${formatUsd(budget.spentUsd)} spent, ${formatUsd(budget.reservedUsd)} reserved.</p>`
    : '';
  const summary = `<table aria-label="Ledger totals">
<thead><tr><th class="num">LLM calls</th><th class="num">Input tokens</th><th class="num">Output tokens</th><th class="num">Cache read</th><th class="num">Cache write</th><th class="num">Cost (USD)</th></tr></thead>
<tbody><tr><td class="num">${formatInt(totals.llmCalls)}</td><td class="num">${formatInt(totals.inputTokens)}</td><td class="num">${formatInt(totals.outputTokens)}</td><td class="num">${formatInt(totals.cacheReadTokens)}</td><td class="num">${formatInt(totals.cacheWriteTokens)}</td><td class="num"><strong>${formatUsd(totals.costUsd)}</strong></td></tr></tbody>
</table>`;
  if (entries.length === 0) return `${summary}${budgetLine}<p class="muted">No model call billed yet.</p>`;
  const groups = new Map<string, LedgerEntry[]>();
  for (const entry of entries) {
    const key = `${entry.stage}\u0000${entry.model}`;
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  const sum = (list: LedgerEntry[], pick: (e: LedgerEntry) => number) =>
    list.reduce((a, e) => a + pick(e), 0);
  const rows = [...groups.values()]
    .map((list) => {
      const first = list[0] as LedgerEntry;
      return `<tr><td>${escapeHtml(first.stage)}</td><td class="mono">${escapeHtml(first.model)}</td><td class="num">${list.length}</td>
<td class="num">${formatInt(sum(list, (e) => e.inputTokens))}</td><td class="num">${formatInt(sum(list, (e) => e.outputTokens))}</td>
<td class="num">${formatInt(sum(list, (e) => e.cacheReadTokens))}</td><td class="num">${formatInt(sum(list, (e) => e.cacheWriteTokens))}</td>
<td class="num">${formatUsd(sum(list, (e) => e.costUsd))}</td><td class="num">${formatDuration(sum(list, (e) => e.latencyMs))}</td></tr>`;
    })
    .join('\n');
  return `${summary}${budgetLine}
<h3 class="small muted">By stage and model</h3>
<table aria-label="Ledger by stage">
<thead><tr><th>Stage</th><th>Model</th><th class="num">Calls</th><th class="num">Input</th><th class="num">Output</th><th class="num">Cache read</th><th class="num">Cache write</th><th class="num">USD</th><th class="num">Model time</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

function approvalsSection(approvals: ApprovalRecord[]): string {
  if (approvals.length === 0) return '<p class="muted">No approval requested yet.</p>';
  const tone: Record<ApprovalRecord['state'], Tone> = {
    PENDING: 'warn',
    APPROVED: 'ok',
    REJECTED: 'no',
    SUPERSEDED: 'idle',
  };
  const rows = approvals
    .map(
      (a) => `<tr><td>${escapeHtml(a.approver)} <span class="small muted">${escapeHtml(a.email)}</span></td>
<td><span class="badge ${tone[a.state]}">${escapeHtml(a.state)}</span></td><td>${shortSha(a.headSha)}</td>
<td>${formatTime(a.expiresAt * 1000)}</td><td>${a.decidedAt ? formatTime(a.decidedAt) : '<span class="muted">—</span>'}</td>
<td>${escapeHtml(a.comment ?? '')}</td></tr>`,
    )
    .join('\n');
  return `<table aria-label="Approvals">
<thead><tr><th>Approver</th><th>State</th><th>Head</th><th>Expires</th><th>Decided</th><th>Comment</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

const MAX_EVENT_DATA_CHARS = 400;

/** `key value` pairs; hashes and ids shortened (the full value is in the title). */
function eventData(data: Record<string, unknown> | undefined): string {
  if (!data) return '';
  let budget = MAX_EVENT_DATA_CHARS;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (budget <= 0) {
      parts.push('…');
      break;
    }
    const full = typeof value === 'string' ? value : JSON.stringify(value);
    const long = full.length > 16 && /(sha|sha256|hash|id)$/i.test(key);
    const shown = long ? `${full.slice(0, 12)}…` : full.length > 160 ? `${full.slice(0, 160)}…` : full;
    budget -= key.length + shown.length;
    parts.push(
      `<span class="kv"><span class="muted">${escapeHtml(key)}</span> <code${long ? ` title="${escapeHtml(full)}"` : ''}>${escapeHtml(shown)}</code></span>`,
    );
  }
  return parts.join(' ');
}

function eventsSection(events: StoredAuditEvent[], truncated: boolean): string {
  const rows = events
    .map((event) => {
      const data = eventData(event.data);
      return `<tr><td class="num">${event.seq}</td><td class="small">${formatTime(event.at)}</td><td><strong>${escapeHtml(event.type)}</strong></td>
<td>${escapeHtml(event.actor)}</td><td class="small data">${data}</td><td class="mono small muted" title="${escapeHtml(event.hash)}">${escapeHtml(event.hash.slice(0, 10))}</td></tr>`;
    })
    .join('\n');
  return `<table aria-label="Audit events">
<thead><tr><th class="num">#</th><th>At</th><th>Event</th><th>Actor</th><th>Data</th><th>Hash</th></tr></thead>
<tbody data-live="events">
${rows}
</tbody></table>${events.length === 0 ? '<p class="muted">No audit event yet.</p>' : ''}${truncated ? `<p class="muted">Showing the first ${events.length} events.</p>` : ''}`;
}

export function runDetailPage(view: RunDetailView): string {
  const { run, now } = view;
  const active = !isTerminal(run.status);
  const end = run.endedAt ? Date.parse(run.endedAt) : now;
  const duration = formatDuration(Math.max(0, end - Date.parse(run.createdAt)));
  const live = view.live === true;
  const cost = costOfRun(run);
  const facts = [
    fact('Status', statusBadge(run.status, live)),
    fact('Current stage', `<span data-live="stage">${escapeHtml(run.stage ?? '—')}</span>`),
    fact(
      'Work item',
      `${issueLink(run, view.forgeWebUrl)}${run.issueNumber ? ` <a class="small" href="/work-items/${escapeHtml(run.repo)}/${run.issueNumber}">all runs</a>` : ''}`,
    ),
    fact('Pull request', prLink(run)),
    fact(
      'Model cost',
      `<span data-live="model-cost">${formatUsd(cost.modelUsd)}</span> <span class="small muted">${run.ledger.llmCalls} LLM calls</span>`,
    ),
    fact(
      'Infra cost',
      `<span data-live="infra-cost">${formatUsd(cost.infraUsd)}</span> <span class="small muted">estimated</span>`,
    ),
    fact(
      'Started',
      `${formatTime(run.createdAt)} <span class="small muted">${escapeHtml(formatAge(run.createdAt, now))}</span>`,
    ),
    fact(run.endedAt ? 'Took' : 'Running for', duration),
    fact('Trigger', `${escapeHtml(run.trigger.source)} by ${escapeHtml(run.trigger.sender)}`),
    fact('Branch', run.branch ? `<code>${escapeHtml(run.branch)}</code>` : '—'),
    fact('Head', shortSha(run.headSha)),
    ...(run.mergedSha ? [fact('Merged as', shortSha(run.mergedSha))] : []),
    fact('Fix attempts', String(run.fixAttempts)),
    ...(run.transitions > 0 ? [fact('State transitions', String(run.transitions))] : []),
  ].join('\n');
  const error = run.error
    ? `<div class="error" role="alert"><strong>${escapeHtml(run.error.class)}</strong><pre>${escapeHtml(run.error.cause)}</pre></div>`
    : '';
  const warnings =
    run.warnings.length > 0
      ? `<div class="card"><strong>Warnings</strong><ul>${run.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></div>`
      : '';
  const summaries = [
    run.planSummary ? `<p class="prose"><strong>Plan.</strong> ${escapeHtml(run.planSummary)}</p>` : '',
    run.reviewSummary ? `<p class="prose"><strong>Review.</strong> ${escapeHtml(run.reviewSummary)}</p>` : '',
  ].join('');
  // -1: nothing shown yet, so the page's first read of events starts at seq 0.
  const lastSeq = view.events.at(-1)?.seq ?? -1;
  return layout(
    {
      title: `Run ${run.runId}`,
      nav: 'runs',
      ...(live ? { script: true } : active ? { refreshSeconds: REFRESH_SECONDS } : {}),
    },
    `<div${live ? ` data-live-run="${escapeHtml(run.runId)}" data-live-status="${escapeHtml(run.status)}" data-last-seq="${lastSeq}"` : ''}>
<p class="small"><a href="/">← All runs</a></p>
<h1>${escapeHtml(run.issueTitle ?? run.workItemKey)} ${statusBadge(run.status, live)}</h1>
<p class="muted mono">Run ${escapeHtml(run.runId)} · ${escapeHtml(run.kind)}</p>
${error}
<dl class="facts" aria-label="Run facts">
${facts}
</dl>
${warnings}
${summaries ? `<div class="card">${summaries}</div>` : ''}
<h2>Stage timeline</h2>
${timeline(run.stages, now)}
<h2>Cost and ledger</h2>
${infraSection(cost)}
${ledgerSection(run, view.ledger, view.budget)}
<h2>Approvals</h2>
${approvalsSection(view.approvals)}
<h2>Audit events</h2>
${eventsSection(view.events, view.eventsTruncated)}
</div>`,
  );
}

// ---------------------------------------------------------------------------------------------
// Mailbox
// ---------------------------------------------------------------------------------------------

const stripTags = (html: string): string =>
  html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>|<\/p>|<\/tr>|<\/li>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\n{3,}/g, '\n\n')
    .trim();

export function mailPage(view: { emails: StoredEmail[]; mailUrl: string }): string {
  const body =
    view.emails.length === 0
      ? empty(
          '<p><strong>The mailbox is empty.</strong></p><p>Approval requests land here when a run reaches its approval stage: label issue #1 with <code>factory</code> or run <code>npm run demo</code>.</p>',
        )
      : view.emails
          .map((email) => {
            const text = email.body.text ?? stripTags(email.body.html ?? '');
            const to = [...email.destination.to, ...email.destination.cc].join(', ');
            return `<article class="mail" data-message-id="${escapeHtml(email.messageId)}">
<div class="head"><h2>${escapeHtml(email.subject || '(no subject)')}</h2>
<div class="small muted">To ${escapeHtml(to || '—')} · from ${escapeHtml(email.from)} · ${formatTime(email.at * 1000)}</div></div>
<pre>${linkify(text)}</pre>
</article>`;
          })
          .join('\n');
  return layout(
    { title: 'Mailbox', nav: 'mail' },
    `<h1>Mailbox</h1>
<p class="muted">Emails sent through the local SES, newest first (the raw store is at ${link(`${view.mailUrl}/store`, `${view.mailUrl}/store`)}).</p>
${body}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Forge pull requests
// ---------------------------------------------------------------------------------------------

/** The fields of GitHub's pull request JSON the console shows. */
export interface ForgePull {
  number: number;
  title: string;
  state: string;
  draft?: boolean;
  merged_at?: string | null;
  html_url?: string;
  updated_at?: string;
  user?: { login?: string } | null;
  head: { sha: string; ref: string };
  base: { ref: string };
}

export function forgePage(view: { repo: string; repoUrl: string; pulls: ForgePull[]; now: number }): string {
  const body =
    view.pulls.length === 0
      ? empty(
          `<p><strong>No pull requests in ${escapeHtml(view.repo)} yet.</strong></p><p>A run opens one at its publish stage: label issue #1 with <code>factory</code> or run <code>npm run demo</code>.</p>`,
        )
      : `<table aria-label="Pull requests">
<thead><tr><th>Pull request</th><th>State</th><th>Branch</th><th>Head</th><th>Updated</th></tr></thead>
<tbody>
${view.pulls
  .map((pull) => {
    const merged = Boolean(pull.merged_at);
    const state = merged ? 'merged' : pull.state;
    const tone = merged ? 'ok' : pull.state === 'open' ? 'run' : 'no';
    return `<tr data-pr="${pull.number}"><td>${link(pull.html_url, `#${pull.number} ${pull.title}`)}<div class="small muted">by ${escapeHtml(pull.user?.login ?? 'unknown')}</div></td>
<td><span class="badge ${tone}">${escapeHtml(state)}</span>${pull.draft ? ' <span class="badge idle">draft</span>' : ''}</td>
<td><code>${escapeHtml(pull.head.ref)}</code> → <code>${escapeHtml(pull.base.ref)}</code></td>
<td>${shortSha(pull.head.sha)}</td>
<td>${pull.updated_at ? escapeHtml(formatAge(pull.updated_at, view.now)) : '—'}</td></tr>`;
  })
  .join('\n')}
</tbody></table>`;
  return layout(
    { title: 'Forge pull requests', nav: 'forge' },
    `<h1>Pull requests of ${link(view.repoUrl, view.repo)}</h1>
<p class="muted">From the local forge (the GitHub stand-in), newest first.</p>
${body}`,
  );
}

export function messagePage(title: string, message: string): string {
  return layout(
    { title },
    `<h1>${escapeHtml(title)}</h1><div class="error"><pre>${escapeHtml(message)}</pre></div>`,
  );
}
