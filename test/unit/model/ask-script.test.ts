import { describe, expect, it } from 'vitest';
import { askTurn } from '../../../local/model/ask-script';
import type { ScriptContext, ToolExchange } from '../../../local/model/scripts';

/** The stand-in's copilot: tools chosen from the question, the answer from what they returned. */
const ctx = (question: string, exchanges: ToolExchange[] = []): ScriptContext => ({
  stage: 'ask',
  offeredTools: ['find_runs', 'summarise_run', 'cost_rollup', 'list_anomalies', 'submit_answer'],
  attempt: 1,
  turn: exchanges.length === 0 ? 0 : 1,
  prompt: `Question from the person asking: ${question}\nThe question may cover every repository you can see.\nNow: 2026-12-02T12:00:00.000Z (UTC).`,
  exchanges,
});
const fence = (data: unknown) =>
  `<untrusted-run-data>\n${JSON.stringify(data, null, 1)}\n</untrusted-run-data>`;
const calls = (spec: ReturnType<typeof askTurn>) =>
  spec.content.filter((b) => b.type === 'tool_use').map((b) => ({ name: b.name, input: b.input }));

describe('the stand-in copilot (local/model/ask-script.ts)', () => {
  it('picks its first tool and filters from the question', () => {
    expect(calls(askTurn(ctx('which runs failed today and why')))).toEqual([
      { name: 'find_runs', input: { status: 'FAILED', since: '2026-12-02T00:00:00.000Z', limit: 10 } },
    ]);
    expect(calls(askTurn(ctx('what did we spend this month')))[0]?.name).toBe('cost_rollup');
    expect(calls(askTurn(ctx('is anything stuck?')))[0]?.name).toBe('list_anomalies');
  });

  it('reads the timelines of what it found, then answers from the results with a retry per failed work item', () => {
    const runs = [
      {
        run_id: 'R2',
        repo: 'acme/widgets',
        issue: 1,
        status: 'FAILED',
        error: { class: 'ChecksFailed', cause: 'x' },
      },
      {
        run_id: 'R1',
        repo: 'acme/widgets',
        issue: 1,
        status: 'FAILED',
        error: { class: 'ChecksFailed', cause: 'y' },
      },
    ];
    const found: ToolExchange = {
      id: 'a',
      name: 'find_runs',
      input: {},
      result: fence({ count: 2, runs }),
      isError: false,
    };
    expect(calls(askTurn(ctx('which runs failed today and why', [found])))).toEqual([
      { name: 'summarise_run', input: { run_id: 'R2' } },
      { name: 'summarise_run', input: { run_id: 'R1' } },
    ]);
    const summary: ToolExchange = {
      id: 'b',
      name: 'summarise_run',
      input: { run_id: 'R2' },
      result: fence({ stages: [{ name: 'checks', status: 'FAILED' }] }),
      isError: false,
    };
    const [answer] = calls(askTurn(ctx('which runs failed today and why', [found, summary])));
    expect(answer?.name).toBe('submit_answer');
    expect(String(answer?.input.answer)).toContain('R2 (acme/widgets#1): FAILED in checks, ChecksFailed: x');
    // One work item: one retry, of its newest run.
    expect(answer?.input.proposals).toEqual([
      { action: 'retry', target: 'R2', reason: expect.stringContaining('ChecksFailed') },
    ]);
  });
});
