import type { Command } from 'commander';
import type { AskView } from '../../functions/api/schemas';
import { ApiRequestError, NetworkError } from '../client';
import { type ConnectionOptions, clientOf, UsageError } from '../connection';
import type { CliContext } from '../io';

/**
 * `code-factory ask "QUESTION"`: asks the copilot (POST /v1/asks), polls GET /v1/asks/{id} until
 * it is answered, prints the answer and each proposal with what would carry it out. It runs none:
 * a proposal is the person's to confirm.
 *
 * Exit codes: 0 answered, 1 the ask failed, 3 usage, network or API errors, or no answer in time.
 */
export const ASK_EXIT = { answered: 0, failed: 1, error: 3 } as const;

const POLL_MS = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a person would run to carry a proposal out. */
export function howTo(proposal: AskView['proposals'][number]): string {
  if (proposal.action === 'cancel') return `code-factory runs cancel ${proposal.target}`;
  if (proposal.payload.method === 'GET') return `code-factory runs show ${proposal.target}`;
  return `${proposal.payload.method} ${proposal.payload.path}`;
}

export function formatAsk(ask: AskView): string {
  if (ask.status === 'FAILED')
    return `the copilot could not answer: ${ask.error?.code ?? 'AskFailed'}: ${ask.error?.message ?? ''}`;
  const lines = [ask.answer ?? ''];
  if (ask.proposals.length > 0) {
    lines.push('', 'Proposed (nothing was done; run one yourself to confirm it):');
    for (const proposal of ask.proposals)
      lines.push(`- ${proposal.action} ${proposal.target}: ${proposal.reason}`, `    ${howTo(proposal)}`);
  }
  return lines.join('\n');
}

export function registerAskCommand(program: Command, ctx: CliContext): void {
  program
    .command('ask')
    .description('ask the copilot about runs; it reads only and proposes actions you confirm')
    .argument('<question>', 'e.g. "which runs failed today and why"')
    .option('--repo <owner/repo>', 'only this repository')
    .option('--timeout <seconds>', 'give up after this long (default 120)', '120')
    .option('--json', 'print the answered ask as JSON')
    .option('--url <url>', 'API base URL (default: $FACTORY_URL)')
    .option('--api-key <key>', 'API key (default: $FACTORY_API_KEY)')
    .action(async (question: string, _options: unknown, command: Command) => {
      const options = command.optsWithGlobals<
        ConnectionOptions & { repo?: string; timeout: string; json?: boolean }
      >();
      try {
        const timeoutSeconds = Number(options.timeout);
        if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > 3600)
          throw new UsageError('--timeout must be 1 to 3600 seconds');
        const client = clientOf(options);
        let ask = await client.createAsk({ question, ...(options.repo ? { repo: options.repo } : {}) });
        const deadline = Date.now() + timeoutSeconds * 1000;
        while (ask.status === 'PENDING') {
          if (Date.now() > deadline)
            throw new NetworkError(`no answer within ${timeoutSeconds} s (ask ${ask.id})`);
          await sleep(POLL_MS);
          ask = await client.getAsk(ask.id);
        }
        ctx.io.stdout(options.json ? `${JSON.stringify(ask)}\n` : `${formatAsk(ask)}\n`);
        ctx.exitCode = ask.status === 'ANSWERED' ? ASK_EXIT.answered : ASK_EXIT.failed;
      } catch (error) {
        if (error instanceof ApiRequestError) {
          const id = error.requestId ? ` (request ${error.requestId})` : '';
          ctx.io.stderr(`code-factory: ${error.status} ${error.code}: ${error.message}${id}\n`);
        } else if (error instanceof UsageError || error instanceof NetworkError)
          ctx.io.stderr(`code-factory: ${error.message}\n`);
        else throw error;
        ctx.exitCode = ASK_EXIT.error;
      }
    });
}
