import { CI_LOGS_LABEL } from '../../functions/stages/ci-summary';
import type { ResponseSpec, ScriptContext } from './scripts';

/**
 * The stand-in's CI-log summariser (functions/stages/ci-summary.ts): like a small model told to
 * say what failed, it names the failed checks (`## name: conclusion` headings of the logs) and
 * quotes the first lines that read as errors, from the logs alone (after their label).
 */

/** How the summariser's system prompt begins: the conversation has no tools to tell it by. */
export const CI_SUMMARY_REQUEST = /^You summarise failed CI runs/;

const ERROR_LINE = /(not ok|AssertionError|Error:|\bFAIL(ED)?\b|\bexpected\b|\bactual\b|error TS\d+)/;
const MAX_QUOTED = 6;

export function ciSummaryTurn(ctx: ScriptContext): ResponseSpec {
  const at = ctx.prompt.indexOf(CI_LOGS_LABEL);
  const logs = at === -1 ? '' : ctx.prompt.slice(at + CI_LOGS_LABEL.length);
  const checks = [...logs.matchAll(/^## (.+): (\w+)$/gm)].map((m) => `${m[1]} (${m[2]})`);
  const quoted = [
    ...new Set(
      logs
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => ERROR_LINE.test(line)),
    ),
  ].slice(0, MAX_QUOTED);
  const text = [
    `Failed checks: ${checks.join(', ') || 'none named in the logs'}.`,
    ...(quoted.length > 0 ? ['First errors in the logs:', ...quoted.map((line) => `- ${line}`)] : []),
    quoted.length > 0
      ? 'Likely cause: the first assertion above; the rest of the log is setup output.'
      : 'The logs show no error line; the failure is likely in the step that exited non-zero.',
  ].join('\n');
  return { content: [{ type: 'text', text }], stopReason: 'end_turn' };
}
