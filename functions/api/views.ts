import { costOfRun, type RunCost } from '../shared/domain/infra-cost';
import { roundUsd } from '../shared/domain/ledger';
import { emptyLedger, isTerminal, type LedgerTotals, type Run, type WorkItem } from '../shared/domain/run';
import type { ApprovalRecord, LedgerEntry, StoredAuditEvent } from '../shared/ports';
import type { RunSummaryView, RunView } from './schemas';

/**
 * Store records → API representations. Only what a caller may see: no task tokens, CSRF hashes,
 * approver emails, contracts, conversations or feedback text.
 */
const defined = <T extends Record<string, unknown>>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

export function runSummaryView(run: Run): RunSummaryView {
  return defined({
    id: run.runId,
    kind: run.kind,
    repo: run.repo,
    issue: run.issueNumber,
    work_item: run.workItemKey,
    status: run.status,
    stage: run.stage,
    created_at: run.createdAt,
    updated_at: run.updatedAt,
    ended_at: run.endedAt,
    pr_url: run.prUrl,
    cost_usd: run.ledger.costUsd,
  });
}

type TokenCounts = Omit<LedgerTotals, 'sandboxSeconds'>;

const tokenView = (t: TokenCounts) => ({
  llm_calls: t.llmCalls,
  input_tokens: t.inputTokens,
  output_tokens: t.outputTokens,
  cache_read_tokens: t.cacheReadTokens,
  cache_write_tokens: t.cacheWriteTokens,
  // input_tokens is the model API's: uncached input only; the total counts all three.
  total_input_tokens: t.inputTokens + t.cacheWriteTokens + t.cacheReadTokens,
  cost_usd: roundUsd(t.costUsd),
});

export function ledgerView(run: Run, entries: LedgerEntry[]): RunView['ledger'] {
  const groups = new Map<
    string,
    TokenCounts & {
      stage: string;
      provider?: string;
      model: string;
      cacheWrite5mTokens: number;
      cacheWrite1hTokens: number;
    }
  >();
  for (const entry of entries) {
    const key = `${entry.stage}\u0000${entry.provider ?? ''}\u0000${entry.model}`;
    const group = groups.get(key) ?? {
      stage: entry.stage,
      ...(entry.provider ? { provider: entry.provider } : {}),
      model: entry.model,
      ...emptyLedger(),
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
    };
    group.llmCalls += entry.kind === 'sandbox' ? 0 : 1;
    group.inputTokens += entry.inputTokens;
    group.outputTokens += entry.outputTokens;
    group.cacheReadTokens += entry.cacheReadTokens;
    group.cacheWriteTokens += entry.cacheWriteTokens;
    // Entries recorded before the split count as 5-minute writes (the default cache lifetime).
    group.cacheWrite5mTokens +=
      entry.cacheWrite5mTokens ?? entry.cacheWriteTokens - (entry.cacheWrite1hTokens ?? 0);
    group.cacheWrite1hTokens += entry.cacheWrite1hTokens ?? 0;
    group.costUsd += entry.costUsd;
    groups.set(key, group);
  }
  return {
    ...tokenView(run.ledger),
    by_stage: [...groups.values()].map((g) => ({
      stage: g.stage,
      ...(g.provider ? { provider: g.provider } : {}),
      model: g.model,
      ...tokenView(g),
      cache_write_5m_tokens: g.cacheWrite5mTokens,
      cache_write_1h_tokens: g.cacheWrite1hTokens,
    })),
  };
}

/**
 * A link still PENDING on a run that has ended can no longer be used (a decision on an expired
 * link cannot be written, so it keeps its stored state): it shows as EXPIRED when the run expired,
 * else SUPERSEDED.
 */
export function approvalView(
  record: ApprovalRecord,
  run?: Pick<Run, 'status'>,
): RunView['approvals'][number] {
  const dead = record.state === 'PENDING' && run !== undefined && isTerminal(run.status);
  return defined({
    approver: record.approver,
    state: dead ? (run?.status === 'EXPIRED' ? 'EXPIRED' : 'SUPERSEDED') : record.state,
    head_sha: record.headSha,
    expires_at: new Date(record.expiresAt * 1000).toISOString(),
    decided_at: record.decidedAt,
    comment: record.comment,
  });
}

export function runView(run: Run, approvals: ApprovalRecord[], ledger: LedgerEntry[]): RunView {
  const ended = run.endedAt ? Date.parse(run.endedAt) : undefined;
  return defined({
    ...runSummaryView(run),
    title: run.issueTitle,
    task: run.task,
    trigger: defined({
      source: run.trigger.source,
      sender: run.trigger.sender,
      command: run.trigger.command,
    }),
    duration_ms: ended === undefined ? undefined : Math.max(0, ended - Date.parse(run.createdAt)),
    stages: run.stages.map((s) =>
      defined({
        name: s.name,
        status: s.status,
        started_at: s.startedAt,
        ended_at: s.endedAt,
        duration_ms: s.ms,
        attempt: s.attempt,
      }),
    ),
    pull_request:
      run.prNumber === undefined
        ? undefined
        : defined({
            number: run.prNumber,
            url: run.prUrl,
            branch: run.branch,
            head_sha: run.headSha,
            merged_sha: run.mergedSha,
          }),
    checks: defined({ conclusion: run.checksConclusion, rounds: run.checksRounds }),
    approvals: approvals
      .slice()
      .sort((a, b) => a.approver.localeCompare(b.approver))
      .map((record) => approvalView(record, run)),
    ledger: ledgerView(run, ledger),
    cost: costView(costOfRun(run)),
    error: run.error ? { class: run.error.class, cause: run.error.cause } : undefined,
    fix_attempts: run.fixAttempts,
    plan_summary: run.planSummary,
    review_summary: run.reviewSummary,
    warnings: run.warnings,
  });
}

export function costView(cost: RunCost): RunView['cost'] {
  const i = cost.infra;
  return {
    model_usd: cost.modelUsd,
    infra_usd: cost.infraUsd,
    total_usd: cost.totalUsd,
    infra: {
      step_functions_usd: roundUsd(i.stepFunctionsUsd),
      transitions: i.transitions,
      lambda_usd: roundUsd(i.lambdaUsd),
      lambda_gb_seconds: Math.round(i.lambdaGbSeconds * 1000) / 1000,
      lambda_requests: i.lambdaRequests,
      sandbox_seconds: i.sandboxSeconds,
      dynamodb_usd: roundUsd(i.dynamoUsd),
      sqs_usd: roundUsd(i.sqsUsd),
    },
  };
}

export function eventView(event: StoredAuditEvent) {
  return defined({
    seq: event.seq,
    type: event.type,
    actor: event.actor,
    at: event.at,
    data: event.data,
    hash: event.hash,
    prev_hash: event.prevHash,
  });
}

export function workItemView(item: WorkItem) {
  return defined({
    key: item.key,
    repo: item.repo,
    issue: item.issueNumber,
    title: item.title,
    created_at: item.createdAt,
    updated_at: item.updatedAt,
    latest_run_id: item.latestRunId,
    branch: item.branch,
    pr_number: item.prNumber,
  });
}
