import type { Command } from 'commander';
import type { AuditChainView } from '../../functions/api/schemas';
import { type ChainedEvent, verifyChain } from '../../functions/shared/domain/audit';
import { RunId } from '../../functions/shared/domain/run';
import { ApiRequestError, NetworkError } from '../client';
import { type ConnectionOptions, clientOf, UsageError } from '../connection';
import type { CliContext } from '../io';

/**
 * `code-factory audit verify RUN`: reads the run's hash chain and recorded head through
 * GET /v1/runs/{id}/audit and recomputes every link here (the formula in docs/api.md, "Audit"),
 * trusting nothing the server says about validity.
 *
 * Exit codes: 0 intact, 1 broken (edited, dropped, reordered, truncated or unconfirmed events),
 * 2 usage errors (including an unknown run), 3 network or other API errors.
 */
export const AUDIT_EXIT = { intact: 0, broken: 1, usage: 2, error: 3 } as const;

/** Bound on the pages one verify reads (100 events a page). */
const MAX_AUDIT_PAGES = 1000;

type EventView = AuditChainView['events'][number];
type Head = NonNullable<AuditChainView['head']>;

export interface AuditReport {
  intact: boolean;
  events: number;
  head: Head | null;
  /** The head the run item recorded (null: none recorded, so truncation cannot be checked). */
  recordedHead: Head | null;
  firstBad?: { index: number; seq?: number; type?: string; reason: string };
}

const chained = (runId: string, event: EventView): ChainedEvent => ({
  runId,
  seq: event.seq,
  at: event.at,
  type: event.type,
  actor: event.actor,
  ...(event.data === undefined ? {} : { data: event.data }),
  prevHash: event.prev_hash,
  hash: event.hash,
});

/** Recomputes the chain and checks it against the recorded head. */
export function verifyAudit(runId: string, events: EventView[], recordedHead: Head | null): AuditReport {
  const chain = events.map((event) => chained(runId, event));
  const verdict = verifyChain(chain, { runId, ...(recordedHead ? { expectedHead: recordedHead } : {}) });
  const last = chain.at(-1);
  const head = last ? { seq: last.seq, hash: last.hash } : null;
  if (verdict.ok) return { intact: true, events: chain.length, head, recordedHead };
  const bad = chain[verdict.index];
  return {
    intact: false,
    events: chain.length,
    head,
    recordedHead,
    firstBad: {
      index: verdict.index,
      ...(bad ? { seq: bad.seq, type: bad.type } : {}),
      reason: verdict.reason,
    },
  };
}

export function formatAuditReport(report: AuditReport): string {
  if (report.intact) {
    const head = report.head?.hash ?? 'none (no events)';
    const note = report.recordedHead ? '' : ' (no head recorded for this run: truncation cannot be checked)';
    return `intact, ${report.events} events, head ${head}${note}`;
  }
  const bad = report.firstBad;
  const where =
    bad?.seq === undefined
      ? `after event ${(bad?.index ?? 0) - 1}`
      : `at event ${bad.index} (seq ${bad.seq}, ${bad.type})`;
  return `broken ${where}: ${bad?.reason ?? 'unknown'}`;
}

export function registerAuditCommands(program: Command, ctx: CliContext): void {
  const audit = program
    .command('audit')
    .description('verify a run’s audit hash chain through the REST API')
    .option('--url <url>', 'API base URL (default: $FACTORY_URL)')
    .option('--api-key <key>', 'API key (default: $FACTORY_API_KEY)');

  audit
    .command('verify')
    .description('recompute the chain: exit 0 intact, 1 broken, 2 usage error, 3 network/API error')
    .argument('<run>', 'run id')
    .option('--json', 'print {intact, events, head, recorded_head, first_bad} as JSON')
    .action(async (runId: string, _options: unknown, command: Command) => {
      const options = command.optsWithGlobals<ConnectionOptions>();
      try {
        if (!RunId.safeParse(runId).success) throw new UsageError(`not a run id: ${runId}`);
        const client = clientOf(options);
        const events: EventView[] = [];
        let recordedHead: Head | null = null;
        let nextToken: string | undefined;
        let pages = 0;
        do {
          if (++pages > MAX_AUDIT_PAGES) throw new UsageError(`more than ${MAX_AUDIT_PAGES} pages of events`);
          const page = await client.getAuditPage(runId, nextToken);
          events.push(...page.chain.events);
          if (page.chain.head !== undefined) recordedHead = page.chain.head;
          nextToken = page.nextToken;
        } while (nextToken);
        const report = verifyAudit(runId, events, recordedHead);
        if (options.json) {
          ctx.io.stdout(
            `${JSON.stringify({
              intact: report.intact,
              events: report.events,
              head: report.head,
              recorded_head: report.recordedHead,
              first_bad: report.firstBad ?? null,
            })}\n`,
          );
        } else ctx.io.stdout(`${formatAuditReport(report)}\n`);
        ctx.exitCode = report.intact ? AUDIT_EXIT.intact : AUDIT_EXIT.broken;
      } catch (error) {
        if (error instanceof UsageError) {
          ctx.io.stderr(`code-factory: ${error.message}\n`);
          ctx.exitCode = AUDIT_EXIT.usage;
        } else if (error instanceof ApiRequestError) {
          const id = error.requestId ? ` (request ${error.requestId})` : '';
          ctx.io.stderr(`code-factory: ${error.status} ${error.code}: ${error.message}${id}\n`);
          ctx.exitCode = error.status === 404 || error.status === 400 ? AUDIT_EXIT.usage : AUDIT_EXIT.error;
        } else if (error instanceof NetworkError) {
          ctx.io.stderr(`code-factory: ${error.message}\n`);
          ctx.exitCode = AUDIT_EXIT.error;
        } else throw error;
      }
    });
}
