import picomatch from 'picomatch';
import * as z from 'zod';
import { findAnomalies } from '../shared/domain/anomalies';
import { GROUP_BY, rollUpCosts } from '../shared/domain/cost-rollup';
import { costOfRun } from '../shared/domain/infra-cost';
import {
  canonicalRepo,
  RepoFullName,
  RUN_STATUSES,
  type Run,
  RunId,
  workItemKeyOf,
} from '../shared/domain/run';
import type { Ask } from '../shared/ports';
import type { CopilotPorts } from './ports';

/**
 * The copilot's tools (docs/agent.md, "Copilot tools"). Every one only reads, and only the
 * repositories the asking key may see (narrowed to the ask's `repo` when given). Reads are
 * bounded: at most MAX_RUNS runs per call, MAX_EVENTS events per timeline.
 */

export const MAX_RUNS = 300;
const PAGE = 100;
const MAX_EVENTS = 60;
const MAX_LISTED = 50;
const MAX_TEXT = 300;

const DateLike = z
  .string()
  .max(40)
  .refine((value) => Number.isFinite(Date.parse(value)), 'expected a date');

export const TOOL_INPUTS = {
  find_runs: z
    .object({
      repo: RepoFullName.optional().describe('owner/repo'),
      status: z.enum(RUN_STATUSES).optional(),
      since: DateLike.optional().describe('runs created at or after this date or time (ISO 8601)'),
      until: DateLike.optional().describe('runs created before this date or time (ISO 8601)'),
      issue: z.number().int().positive().optional(),
      limit: z.number().int().min(1).max(MAX_LISTED).optional(),
    })
    .strict(),
  find_work_item: z.object({ repo: RepoFullName, issue: z.number().int().positive() }).strict(),
  summarise_run: z.object({ run_id: RunId }).strict(),
  cost_rollup: z
    .object({
      repo: RepoFullName.optional(),
      from: DateLike.optional(),
      to: DateLike.optional(),
      group_by: z.enum(GROUP_BY).optional(),
    })
    .strict(),
  list_anomalies: z.object({ repo: RepoFullName.optional() }).strict(),
} as const;

export type ReadToolName = keyof typeof TOOL_INPUTS;

const DESCRIPTIONS: Record<ReadToolName, string> = {
  find_runs:
    'List runs, newest first, with status, stage, error class and cause, cost and PR. Filter by repo, status, creation time (since/until), issue.',
  find_work_item: 'A work item (owner/repo#issue) and its runs, newest first.',
  summarise_run:
    "One run's timeline: its stages with durations, its error, its PR and cost, and its latest audit events.",
  cost_rollup:
    'Model and infra cost, runs, merged PRs, cost per merged PR and run durations over a time range, optionally grouped by repo, model, kind or day.',
  list_anomalies:
    'Runs stuck past their stage’s usual time, work items that failed run after run, and error classes that recur.',
};

export interface ToolDefinition {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
}

export const schemaOf = (schema: z.ZodType): Record<string, unknown> => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return rest;
};

export const READ_TOOLS: ToolDefinition[] = (Object.keys(TOOL_INPUTS) as ReadToolName[]).map((name) => ({
  name,
  description: DESCRIPTIONS[name],
  input_schema: schemaOf(TOOL_INPUTS[name]),
}));

/** What the asking key may see, narrowed to the ask's repository when it named one. */
export function visibility(ask: Pick<Ask, 'repoPatterns' | 'repo'>): (repo: string) => boolean {
  const matcher = ask.repoPatterns.length > 0 ? picomatch(ask.repoPatterns, { nocase: true }) : undefined;
  return (repo) =>
    (matcher?.(repo) ?? false) && (ask.repo === undefined || canonicalRepo(ask.repo) === canonicalRepo(repo));
}

const clip = (text: string | undefined, max = MAX_TEXT) =>
  text === undefined ? undefined : text.length > max ? `${text.slice(0, max)}…` : text;

const durationMs = (run: Run) => {
  const end = run.endedAt ? Date.parse(run.endedAt) : undefined;
  return end === undefined ? undefined : end - Date.parse(run.createdAt);
};

export const runLine = (run: Run) => ({
  run_id: run.runId,
  repo: run.repo,
  issue: run.issueNumber,
  title: clip(run.issueTitle),
  kind: run.kind,
  status: run.status,
  stage: run.stage,
  created_at: run.createdAt,
  ended_at: run.endedAt,
  duration_ms: durationMs(run),
  error: run.error ? { class: run.error.class, cause: clip(run.error.cause) } : undefined,
  cost_usd: costOfRun(run).totalUsd,
  pr_url: run.prUrl,
});

/** Runs newest first from the narrowest index the filters allow, bounded, visible ones only. */
async function readRuns(
  ports: CopilotPorts,
  canSee: (repo: string) => boolean,
  filter: { repo?: string | undefined; status?: Run['status'] | undefined; since?: string | undefined },
): Promise<Run[]> {
  const runs: Run[] = [];
  const since = filter.since ? new Date(Date.parse(filter.since)).toISOString() : undefined;
  let cursor: string | undefined;
  for (let read = 0; read < MAX_RUNS; read += PAGE) {
    const page = { limit: PAGE, ...(cursor === undefined ? {} : { cursor }) };
    const result = filter.repo
      ? await ports.store.listRunsByRepo(filter.repo, page)
      : filter.status
        ? await ports.store.listRunsByStatus(filter.status, page)
        : await ports.store.listRecentRuns(page);
    for (const run of result.items) {
      if (since && run.createdAt < since) return runs;
      if (canSee(run.repo)) runs.push(run);
    }
    cursor = result.cursor;
    if (!cursor) break;
  }
  return runs;
}

/** Runs one tool with a validated input; the answer is JSON for the model. */
export async function runReadTool(
  ports: CopilotPorts,
  ask: Ask,
  name: ReadToolName,
  raw: unknown,
): Promise<{ ok: true; output: unknown } | { ok: false; error: string }> {
  const parsed = TOOL_INPUTS[name].safeParse(raw ?? {});
  if (!parsed.success)
    return {
      ok: false,
      error: parsed.error.issues
        .slice(0, 5)
        .map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`)
        .join('; '),
    };
  const canSee = visibility(ask);
  const input = parsed.data as Record<string, unknown>;
  const repo = input.repo as string | undefined;
  if (repo !== undefined && !canSee(repo))
    return { ok: false, error: `${repo} is not visible to this question` };
  switch (name) {
    case 'find_runs': {
      const { status, since, until, issue, limit } = TOOL_INPUTS.find_runs.parse(raw ?? {});
      const to = until ? new Date(Date.parse(until)).toISOString() : undefined;
      const runs = (await readRuns(ports, canSee, { repo, status, since }))
        .filter(
          (run) =>
            (status === undefined || run.status === status) && (to === undefined || run.createdAt < to),
        )
        .filter((run) => issue === undefined || run.issueNumber === issue);
      const shown = runs.slice(0, limit ?? 20);
      return { ok: true, output: { count: runs.length, runs: shown.map(runLine) } };
    }
    case 'find_work_item': {
      const { issue } = TOOL_INPUTS.find_work_item.parse(raw);
      const found = await ports.store.getWorkItemWithRuns(workItemKeyOf(repo ?? '', issue), { limit: 20 });
      return {
        ok: true,
        output: {
          work_item: found.workItem
            ? {
                key: found.workItem.key,
                title: clip(found.workItem.title),
                pr_number: found.workItem.prNumber,
              }
            : null,
          runs: found.runs.items.filter((r) => canSee(r.repo)).map(runLine),
        },
      };
    }
    case 'summarise_run': {
      const { run_id } = TOOL_INPUTS.summarise_run.parse(raw);
      const run = await ports.store.getRun(run_id);
      if (!run || !canSee(run.repo)) return { ok: false, error: `run ${run_id} not found` };
      const events = await ports.store.listEvents(run_id, { limit: 1000 });
      const latest = events.items.slice(-MAX_EVENTS);
      return {
        ok: true,
        output: {
          ...runLine(run),
          pr_number: run.prNumber,
          fix_attempts: run.fixAttempts,
          failure_signatures: run.failureSignatures.slice(0, 10),
          stages: run.stages.map((s) => ({ name: s.name, status: s.status, ms: s.ms, note: clip(s.note) })),
          events_total: events.items.length,
          events: latest.map((e) => ({
            seq: e.seq,
            at: e.at,
            type: e.type,
            actor: e.actor,
            data: clip(e.data === undefined ? undefined : JSON.stringify(e.data), 400),
          })),
        },
      };
    }
    case 'cost_rollup': {
      const { from, to, group_by } = TOOL_INPUTS.cost_rollup.parse(raw ?? {});
      const now = new Date(ports.clock.now());
      const start = from ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
      const end = to ? new Date(Date.parse(to)).toISOString() : undefined;
      const runs = (await readRuns(ports, canSee, { repo, since: start })).filter(
        (run) => end === undefined || run.createdAt < end,
      );
      const { total, groups } = rollUpCosts(runs, group_by);
      const durations = runs.map(durationMs).filter((ms): ms is number => ms !== undefined);
      return {
        ok: true,
        output: {
          from: start,
          to: end ?? now.toISOString(),
          total,
          groups,
          ended_runs: durations.length,
          mean_duration_ms: durations.length
            ? Math.round(durations.reduce((a, b) => a + b, 0) / durations.length)
            : null,
          truncated: runs.length >= MAX_RUNS,
        },
      };
    }
    case 'list_anomalies': {
      const runs = await readRuns(ports, canSee, { repo });
      return {
        ok: true,
        output: { runs_read: runs.length, anomalies: findAnomalies(runs, ports.clock.now()) },
      };
    }
  }
}
