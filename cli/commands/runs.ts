import type { Command } from 'commander';
import type { RunSummaryView, RunView } from '../../functions/api/schemas';
import { STAGES } from '../../functions/shared/domain/run';
import { ApiRequestError, NetworkError } from '../client';
import { type ConnectionOptions, clientOf, UsageError } from '../connection';
import { type CliContext, type CliIo, processIo } from '../io';

/**
 * `code-factory runs list|show|watch|cancel`: the REST API from a terminal (docs/api.md).
 * FACTORY_URL / FACTORY_API_KEY or --url / --api-key; --json for scripts.
 *
 * Exit codes: 0 ok (watch: SUCCEEDED), 1 the run ended badly (watch: FAILED, REJECTED,
 * EXPIRED, TIMED_OUT, BLOCKED, STOPPED; cancel: the run had already ended otherwise), 2 watch: CANCELLED
 * or SUPERSEDED (a person ended it, or a follow-up took its PR over),
 * 3 usage, network or API errors (including a watch that timed out).
 */
export const EXIT = { ok: 0, failed: 1, cancelled: 2, error: 3 } as const;

const BAD_ENDINGS = new Set(['FAILED', 'REJECTED', 'EXPIRED', 'TIMED_OUT', 'BLOCKED', 'STOPPED']);
/** Ended by a person: cancelled, or superseded by a follow-up run on its pull request. */
const STEERED_ENDINGS = new Set(['CANCELLED', 'SUPERSEDED']);
const TERMINAL = new Set([...BAD_ENDINGS, ...STEERED_ENDINGS, 'SUCCEEDED']);
const MIN_INTERVAL_S = 1;
const MAX_INTERVAL_S = 60;
/**
 * The API hints long waits (Retry-After 60 s) on runs waiting for people; a person watching wants
 * to see the decision land soon, and polls are cheap (ETag, 304), so watch honours at most this.
 */
const MAX_HINTED_WAIT_S = 10;
const MAX_CONSECUTIVE_NETWORK_ERRORS = 5;
/** `runs list` reads at most this many API pages to fill one of its own. */
const MAX_LIST_PAGES = 10;
const TRANSIENT_STATUSES = new Set([429, 500, 502, 503, 504]);

export function exitCodeOf(status: string): number {
  if (status === 'SUCCEEDED') return EXIT.ok;
  if (STEERED_ENDINGS.has(status)) return EXIT.cancelled;
  return BAD_ENDINGS.has(status) ? EXIT.failed : EXIT.error;
}

/** Runs a command body, turning every expected failure into a message and an exit code. */
export async function guarded(ctx: CliContext, body: () => Promise<number>): Promise<void> {
  try {
    ctx.exitCode = await body();
  } catch (error) {
    if (error instanceof ApiRequestError) {
      const id = error.requestId ? ` (request ${error.requestId})` : '';
      ctx.io.stderr(`code-factory: ${error.status} ${error.code}: ${error.message}${id}\n`);
    } else if (error instanceof NetworkError || error instanceof UsageError) {
      ctx.io.stderr(`code-factory: ${error.message}\n`);
    } else {
      throw error;
    }
    ctx.exitCode = EXIT.error;
  }
}

const json = (io: CliIo, value: unknown) => io.stdout(`${JSON.stringify(value)}\n`);

function money(usd: number): string {
  return `$${usd.toFixed(2)}`;
}

/** Infra costs are fractions of a cent: four decimals below a dollar. */
export const fineMoney = (usd: number): string => `$${usd.toFixed(usd > 0 && usd < 1 ? 4 : 2)}`;

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function table(rows: string[][]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const itemOf = (run: RunSummaryView) =>
  run.issue === undefined ? (run.work_item.split('@')[1] ?? '') : `#${run.issue}`;

export function formatRunList(runs: RunSummaryView[]): string {
  const rows = [['ID', 'STATUS', 'STAGE', 'REPO', 'KIND', 'ITEM', 'CREATED', 'COST']];
  for (const run of runs) {
    rows.push([
      run.id,
      run.status,
      run.stage ?? '-',
      run.repo,
      run.kind,
      itemOf(run),
      run.created_at,
      money(run.cost_usd),
    ]);
  }
  return table(rows);
}

export function formatRun(run: RunView): string {
  const lines = [
    `run        ${run.id} (${run.kind})`,
    `status     ${run.status}${run.stage ? ` at ${run.stage}` : ''}`,
    `repo       ${run.repo} ${itemOf(run)}${run.title ? ` — ${run.title}` : ''}`,
    `created    ${run.created_at} by ${run.trigger.sender} (${run.trigger.source})`,
  ];
  if (run.ended_at)
    lines.push(
      `ended      ${run.ended_at}${run.duration_ms === undefined ? '' : ` after ${duration(run.duration_ms)}`}`,
    );
  if (run.pull_request)
    lines.push(`pr         #${run.pull_request.number} ${run.pull_request.url ?? ''}`.trimEnd());
  if (run.checks.conclusion) lines.push(`checks     ${run.checks.conclusion}`);
  for (const approval of run.approvals) lines.push(`approval   ${approval.approver}: ${approval.state}`);
  const l = run.ledger;
  lines.push(`model cost ${money(l.cost_usd)} (${l.llm_calls} model calls)`);
  if (run.cost) {
    const i = run.cost.infra;
    lines.push(
      `infra cost ${fineMoney(run.cost.infra_usd)} estimated: Step Functions ${fineMoney(i.step_functions_usd)} (${i.transitions} transitions), Lambda ${fineMoney(i.lambda_usd)} (${i.lambda_gb_seconds} GB-s${i.sandbox_seconds > 0 ? `, sandbox ${i.sandbox_seconds} s` : ''}), DynamoDB ${fineMoney(i.dynamodb_usd)}, SQS ${fineMoney(i.sqs_usd)}`,
    );
  }
  lines.push(
    `tokens in  ${l.total_input_tokens} total = ${l.input_tokens} uncached + ${l.cache_write_tokens} cache writes + ${l.cache_read_tokens} cache reads`,
  );
  lines.push(`tokens out ${l.output_tokens}`);
  if (run.error) lines.push(`error      ${run.error.class}: ${run.error.cause}`);
  if (run.stages.length > 0) {
    lines.push('stages');
    for (const stage of run.stages) {
      const took = stage.duration_ms === undefined ? '' : ` ${duration(stage.duration_ms)}`;
      lines.push(`  ${stage.name.padEnd(10)} ${stage.status}${took}`);
    }
  }
  return lines.join('\n');
}

const SYMBOL: Record<string, string> = {
  SUCCEEDED: '✓',
  FAILED: '✗',
  RUNNING: '●',
  WAITING: '…',
  SKIPPED: '-',
};

/** The live display: one line per pipeline stage (latest attempt), redrawn in place on a TTY. */
export function progressLines(run: RunView, now: number): string[] {
  const latest = new Map<string, RunView['stages'][number]>();
  for (const stage of run.stages) latest.set(stage.name, stage);
  const elapsed = duration((run.ended_at ? Date.parse(run.ended_at) : now) - Date.parse(run.created_at));
  const lines = [
    `${run.id}  ${run.repo} ${itemOf(run)}  ${run.status}  ${elapsed}  ${money(run.ledger.cost_usd)}`,
  ];
  for (const name of STAGES) {
    const stage = latest.get(name);
    if (!stage) {
      if (name === 'revert' || name === 'finalize' || name === 'clarify') continue; // only when they happen
      lines.push(`  · ${name}`);
      continue;
    }
    const took =
      stage.duration_ms !== undefined
        ? duration(stage.duration_ms)
        : stage.status === 'RUNNING' || stage.status === 'WAITING'
          ? duration(now - Date.parse(stage.started_at))
          : '';
    lines.push(
      `  ${SYMBOL[stage.status] ?? '?'} ${name.padEnd(10)} ${stage.status.toLowerCase()} ${took}`.trimEnd(),
    );
  }
  return lines;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function seconds(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`${name} must be a number of seconds between ${min} and ${max}`);
  }
  return parsed;
}

interface WatchOptions extends ConnectionOptions {
  interval?: string;
  timeout?: string;
}

async function watch(ctx: CliContext, runId: string, options: WatchOptions): Promise<number> {
  const client = clientOf(options);
  const intervalS = seconds(options.interval, '--interval', 2, MIN_INTERVAL_S, MAX_INTERVAL_S);
  const timeoutS = seconds(options.timeout, '--timeout', 24 * 3600, 1, 30 * 24 * 3600);
  const live = ctx.io === processIo && process.stdout.isTTY === true && !options.json;
  const deadline = Date.now() + timeoutS * 1000;
  let etag: string | undefined;
  let run: RunView | undefined;
  let drawn = 0;
  let lastLine = '';
  let networkErrors = 0;

  const draw = () => {
    if (!run) return;
    if (live) {
      const lines = progressLines(run, Date.now());
      // Move up over the previous frame and clear it, then draw the new one.
      ctx.io.stdout(`${drawn > 0 ? `\x1b[${drawn}A\x1b[J` : ''}${lines.join('\n')}\n`);
      drawn = lines.length;
      return;
    }
    const line = options.json
      ? JSON.stringify({
          id: run.id,
          status: run.status,
          stage: run.stage ?? null,
          updated_at: run.updated_at,
        })
      : `${run.updated_at}  ${run.status}${run.stage ? `  ${run.stage}` : ''}`;
    if (line !== lastLine) ctx.io.stdout(`${line}\n`);
    lastLine = line;
  };

  // Bounded: every iteration waits at least MIN_INTERVAL_S and the deadline ends the loop.
  while (true) {
    let retryAfterS: number | undefined;
    try {
      const poll = await client.pollRun(runId, etag);
      networkErrors = 0;
      retryAfterS = poll.retryAfterSeconds;
      if (poll.changed) {
        run = poll.run;
        etag = poll.etag;
      }
      draw(); // on a TTY this also refreshes the elapsed times when nothing changed
    } catch (error) {
      // Ride out a short outage mid-watch (network, throttling, a 5xx); a first request that
      // fails (wrong URL, bad key) fails at once.
      const transient =
        run !== undefined &&
        (error instanceof NetworkError ||
          (error instanceof ApiRequestError && TRANSIENT_STATUSES.has(error.status)));
      if (!transient || ++networkErrors >= MAX_CONSECUTIVE_NETWORK_ERRORS) throw error;
    }
    if (run && TERMINAL.has(run.status)) break;
    const waitS = Math.min(
      Math.max(intervalS, Math.min(retryAfterS ?? 0, MAX_HINTED_WAIT_S)),
      MAX_INTERVAL_S,
    );
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) {
      ctx.io.stderr(`code-factory: gave up watching ${runId} after ${duration(timeoutS * 1000)}\n`);
      return EXIT.error;
    }
    await sleep(Math.min(waitS * 1000, remainingMs));
  }

  const final = run as RunView;
  if (options.json) json(ctx.io, final);
  else {
    const parts = [`run ${final.id} ${final.status}`];
    if (final.duration_ms !== undefined) parts.push(`in ${duration(final.duration_ms)}`);
    parts.push(`cost ${money(final.ledger.cost_usd)}`);
    if (final.pull_request?.url) parts.push(final.pull_request.url);
    if (final.error) parts.push(`${final.error.class}: ${final.error.cause}`);
    ctx.io.stdout(`${parts.join(', ')}\n`);
  }
  return exitCodeOf(final.status);
}

export function registerRunsCommands(program: Command, ctx: CliContext): void {
  const runs = program
    .command('runs')
    .description('list, show, watch and cancel runs through the REST API')
    .option('--url <url>', 'API base URL (default: $FACTORY_URL)')
    .option('--api-key <key>', 'API key (default: $FACTORY_API_KEY)');

  runs
    .command('list')
    .description(
      'runs of a repository and/or with a status, newest first; with neither, the key’s recent runs across its repositories',
    )
    .option('--repo <owner/repo>', 'only this repository')
    .option('--status <status>', 'only runs with this status')
    .option('--kind <kind>', 'only change, review or rescue runs')
    .option('--limit <n>', 'runs per page (1-100)', '20')
    .option('--next-token <token>', 'continue from a previous page')
    .option('--json', 'print {runs, next_token} as JSON')
    .action(async (_options: unknown, command: Command) => {
      const options = command.optsWithGlobals<
        ConnectionOptions & {
          repo?: string;
          status?: string;
          kind?: string;
          limit: string;
          nextToken?: string;
        }
      >();
      await guarded(ctx, async () => {
        const limit = Number(options.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 100)
          throw new UsageError('--limit must be 1-100');
        // The API filters within an index page, so a page can hold fewer matches than asked for
        // (even none) while more follow: read on, a few pages at most, to show what was asked.
        const client = clientOf(options);
        const page: { runs: RunSummaryView[]; nextToken?: string } = { runs: [] };
        let nextToken = options.nextToken;
        for (let request = 0; request < MAX_LIST_PAGES; request++) {
          const answer = await client.listRuns({
            ...(options.repo ? { repo: options.repo } : {}),
            ...(options.status ? { status: options.status.toUpperCase() } : {}),
            ...(options.kind ? { kind: options.kind } : {}),
            limit,
            ...(nextToken ? { nextToken } : {}),
          });
          page.runs.push(...answer.runs);
          nextToken = answer.nextToken;
          if (!nextToken || page.runs.length >= limit) break;
        }
        if (nextToken) page.nextToken = nextToken;
        if (options.json) json(ctx.io, { runs: page.runs, next_token: page.nextToken ?? null });
        else {
          ctx.io.stdout(page.runs.length > 0 ? `${formatRunList(page.runs)}\n` : 'no runs\n');
          if (page.nextToken) ctx.io.stderr(`more: --next-token ${page.nextToken}\n`);
        }
        return EXIT.ok;
      });
    });

  runs
    .command('show')
    .description('one run: status, stages, PR, approvals, cost, error')
    .argument('<id>', 'run id')
    .option('--json', 'print the run as JSON')
    .action(async (runId: string, _options: unknown, command: Command) => {
      const options = command.optsWithGlobals<ConnectionOptions>();
      await guarded(ctx, async () => {
        const run = await clientOf(options).getRun(runId);
        if (options.json) json(ctx.io, run);
        else ctx.io.stdout(`${formatRun(run)}\n`);
        return EXIT.ok;
      });
    });

  runs
    .command('watch')
    .description(
      'follow a run to its end; exit 0 SUCCEEDED, 1 failed/rejected/expired/timed out/blocked, 2 CANCELLED/SUPERSEDED, 3 error',
    )
    // Parsed here rather than by commander so that usage errors exit 3, not 2 (2 means CANCELLED).
    .argument('[id]', 'run id')
    .option(
      '--interval <seconds>',
      `poll interval (${MIN_INTERVAL_S}-${MAX_INTERVAL_S}; Retry-After may lengthen it)`,
    )
    .option('--timeout <seconds>', 'give up after this long (default 24 h)')
    .option('--json', 'one JSON line per change, the final run as the last line')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (runId: string | undefined, _options: unknown, command: Command) => {
      const options = command.optsWithGlobals<WatchOptions>();
      await guarded(ctx, async () => {
        if (!runId || command.args.length !== 1 || runId.startsWith('-')) {
          throw new UsageError(
            `usage: code-factory runs watch <id> [options] (got: ${command.args.join(' ') || 'nothing'})`,
          );
        }
        return watch(ctx, runId, options);
      });
    });

  runs
    .command('cancel')
    .description('cancel a run (idempotent); exit 1 when it had already ended otherwise')
    .argument('<id>', 'run id')
    .option('--json', 'print the run as JSON')
    .action(async (runId: string, _options: unknown, command: Command) => {
      const options = command.optsWithGlobals<ConnectionOptions>();
      await guarded(ctx, async () => {
        try {
          const run = await clientOf(options).cancelRun(runId);
          if (options.json) json(ctx.io, run);
          else ctx.io.stdout(`run ${run.id} ${run.status}\n`);
          return EXIT.ok;
        } catch (error) {
          if (error instanceof ApiRequestError && error.status === 409) {
            ctx.io.stderr(`code-factory: ${error.message}\n`);
            return EXIT.failed;
          }
          throw error;
        }
      });
    });
}
