import type { ResponseSpec, ScriptContext, ToolCall, ToolExchange } from './scripts';

/**
 * The stand-in's copilot behaviour (functions/copilot): it reads the question, picks the read
 * tools a model would (runs filtered by what the question names, then each run's timeline, or
 * costs, or anomalies), and answers from what they returned, proposing a retry for failed runs
 * when the question is about failures. It knows nothing of the seeded data: everything it says
 * comes from the tool results, which it reads out of their untrusted-data fence.
 */

const MAX_SUMMARIES = 3;

const STATUS_WORDS: Array<[RegExp, string]> = [
  [/\bfail(ed|ing|ures?)?\b/i, 'FAILED'],
  [/\bstopped\b/i, 'STOPPED'],
  [/\bcancell?ed\b/i, 'CANCELLED'],
  [/\bblocked\b/i, 'BLOCKED'],
  [/\bsucceeded|merged\b/i, 'SUCCEEDED'],
];

const questionOf = (ctx: ScriptContext) =>
  /Question from the person asking: (.*)/.exec(ctx.prompt)?.[1] ?? ctx.prompt;
const nowOf = (ctx: ScriptContext) => /Now: (\S+)/.exec(ctx.prompt)?.[1] ?? new Date().toISOString();
const repoOf = (ctx: ScriptContext) => /The question is about (\S+) only\./.exec(ctx.prompt)?.[1];

/** A tool result's data: the JSON inside the fence. */
function dataOf(exchange: ToolExchange | undefined): Record<string, unknown> | undefined {
  if (!exchange?.result || exchange.isError) return undefined;
  const inner = exchange.result
    .replace(/^<untrusted-run-data>\n/, '')
    .replace(/\n<\/untrusted-run-data>[\s\S]*$/, '');
  try {
    return JSON.parse(inner) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

interface RunLine {
  run_id: string;
  repo: string;
  issue?: number;
  title?: string;
  status: string;
  error?: { class: string; cause?: string };
}

function firstCalls(ctx: ScriptContext): ToolCall[] {
  const question = questionOf(ctx);
  const repo = repoOf(ctx);
  const scope = repo ? { repo } : {};
  if (/\b(cost|spend|spent|expensive|budget)\b/i.test(question))
    return [{ name: 'cost_rollup', input: { ...scope, group_by: 'repo' } }];
  if (/\b(stuck|anomal|wrong|slow)\w*/i.test(question)) return [{ name: 'list_anomalies', input: scope }];
  const status = STATUS_WORDS.find(([word]) => word.test(question))?.[1];
  const today = /\btoday\b/i.test(question) ? `${nowOf(ctx).slice(0, 10)}T00:00:00.000Z` : undefined;
  return [
    {
      name: 'find_runs',
      input: { ...scope, ...(status ? { status } : {}), ...(today ? { since: today } : {}), limit: 10 },
    },
  ];
}

function answer(ctx: ScriptContext): ToolCall {
  const found = dataOf(ctx.exchanges.find((e) => e.name === 'find_runs'));
  const question = questionOf(ctx);
  if (!found) {
    const other = ctx.exchanges.at(-1);
    const data = dataOf(other);
    return {
      name: 'submit_answer',
      input: {
        answer: data
          ? `From ${other?.name}: ${JSON.stringify(data).slice(0, 1500)}`
          : 'I could not read that.',
      },
    };
  }
  const runs = (found.runs as RunLine[] | undefined) ?? [];
  if (runs.length === 0) return { name: 'submit_answer', input: { answer: 'No runs match that.' } };
  const summaries = new Map(
    ctx.exchanges
      .filter((e) => e.name === 'summarise_run')
      .map((e) => [String(e.input.run_id), dataOf(e)] as const),
  );
  const lines = runs.map((run) => {
    const summary = summaries.get(run.run_id) as
      | { stages?: Array<{ name: string; status: string }> }
      | undefined;
    const failedStage = summary?.stages?.find((s) => s.status === 'FAILED')?.name;
    const why = run.error ? `${run.error.class}: ${run.error.cause ?? ''}`.trim() : run.status;
    return `- ${run.run_id} (${run.repo}${run.issue ? `#${run.issue}` : ''}${run.title ? ` “${run.title}”` : ''}): ${run.status}${failedStage ? ` in ${failedStage}` : ''}, ${why}`;
  });
  const aboutFailures = /\bfail/i.test(question);
  // One retry per work item: its newest failed run (runs come newest first).
  const seen = new Set<string>();
  const proposals = aboutFailures
    ? runs
        .filter((run) => run.status === 'FAILED')
        .filter((run) => {
          const key = `${run.repo}#${run.issue ?? run.run_id}`;
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        })
        .slice(0, 3)
        .map((run) => ({
          action: 'retry',
          target: run.run_id,
          reason: `It failed with ${run.error?.class ?? 'an error'}; a retry starts a new run on the same work item.`,
        }))
    : [];
  return {
    name: 'submit_answer',
    input: {
      answer: `${runs.length} run${runs.length === 1 ? '' : 's'} matched:\n${lines.join('\n')}`,
      ...(proposals.length > 0 ? { proposals } : {}),
    },
  };
}

/** One assistant turn of an ask conversation. */
export function askTurn(ctx: ScriptContext): ResponseSpec {
  if (ctx.exchanges.length === 0)
    return {
      content: [
        { type: 'text', text: 'Let me look that up.' },
        ...firstCalls(ctx).map((c) => ({ type: 'tool_use' as const, ...c })),
      ],
    };
  const found = dataOf(ctx.exchanges.find((e) => e.name === 'find_runs'));
  const summarised = ctx.exchanges.some((e) => e.name === 'summarise_run');
  const runs = ((found?.runs as RunLine[] | undefined) ?? []).filter((r) => r.status !== 'SUCCEEDED');
  if (found && !summarised && runs.length > 0)
    return {
      content: runs
        .slice(0, MAX_SUMMARIES)
        .map((run) => ({ type: 'tool_use' as const, name: 'summarise_run', input: { run_id: run.run_id } })),
    };
  return { content: [{ type: 'tool_use', ...answer(ctx) }] };
}
