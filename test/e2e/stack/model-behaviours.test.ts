import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../../../functions/shared/domain/run';
import type { ConversationTurn } from '../../../functions/shared/ports';
import { EXPORT_PATTERN, MISSING_PATH, REFUSAL_TEXT } from '../../../local/model/behaviours';
import { SLUGIFY_PATH, SLUGIFY_SOURCE } from '../../../local/model/sample-code';
import { scenarioNamed } from '../../../local/model/scenarios';
import { sampleScript } from '../../../local/model/scripts';
import type { Stack } from '../../../local/stack';
import { startTestStack } from '../../support/e2e';
import { decideRun, fileAt, finished, type Sandbox, sandbox, startScenario } from '../pipeline/support';

/**
 * The stand-in's real-model behaviours, each as its named scenario (`--scenario NAME`) through
 * the real LLM worker and stage runner on the embedded stack: every run ends in the outcome the
 * scenario declares, and the stored conversation shows the behaviour and what the loop made of it.
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

type Block = {
  type: string;
  text?: string;
  name?: string;
  id?: string;
  input?: Record<string, unknown>;
  tool_use_id?: string;
  content?: unknown;
  is_error?: boolean;
};

/** Runs the scenario on a fresh copy of the sample; approves when asked; returns the ended run. */
async function play(name: string): Promise<{ run: Run; box: Sandbox; implement: ConversationTurn[] }> {
  const scenario = scenarioNamed(name);
  if (!scenario) throw new Error(`no scenario ${name}`);
  const box = await sandbox(stack, name);
  const started = await startScenario(stack, box, scenario.script);
  if (scenario.expect === 'SUCCEEDED') expect(await decideRun(stack, started.runId, 'approve')).toBe(200);
  const run = await finished(stack, started.runId);
  expect(run.status, `${run.error?.class}: ${run.error?.cause}`).toBe(scenario.expect);
  const implement: ConversationTurn[] = [];
  for (const { stage, conversationId } of run.conversations)
    if (stage === 'implement')
      implement.push(...(await stack.store.getConversationWithTurns(conversationId)).turns);
  return { run, box, implement };
}

const blocks = (turn: ConversationTurn | undefined): Block[] =>
  Array.isArray(turn?.content) ? (turn.content as Block[]) : [];
const textOf = (block: Block | undefined): string =>
  typeof block?.content === 'string' ? block.content : JSON.stringify(block?.content ?? '');
/** The tool_result answering the call `id` in the turn after it. */
const resultOf = (turns: ConversationTurn[], at: number, id: string | undefined) =>
  blocks(turns[at + 1]).find((b) => b.type === 'tool_result' && b.tool_use_id === id);

describe('the stand-in behaves like real models; the agent loop holds', () => {
  it('empty-answer: the empty end_turn is reminded once and the run merges', async () => {
    const { implement } = await play('empty-answer');
    const empty = implement.findIndex((t) => t.role === 'assistant' && blocks(t).length === 0);
    expect(empty).toBeGreaterThan(0);
    expect(implement[empty]?.stopReason).toBe('end_turn');
    expect(JSON.stringify(implement[empty + 1]?.content)).toContain(
      'You ended your turn without calling a tool',
    );
  }, 120_000);

  it('max-tokens-cut: the write_file cut mid-input is never run; the whole one is merged', async () => {
    const { implement, box } = await play('max-tokens-cut');
    const cut = implement.findIndex((t) => t.stopReason === 'max_tokens');
    const call = blocks(implement[cut]).find((b) => b.type === 'tool_use');
    expect(call?.name).toBe('write_file');
    const written = String(call?.input?.content ?? '');
    // As the API cuts: the input holds what was written before the limit, not the whole.
    expect(written.startsWith(SLUGIFY_SOURCE)).toBe(true);
    expect(written.length).toBeLessThan(16_000 * 4);
    const result = resultOf(implement, cut, call?.id);
    expect(result?.is_error).toBe(true);
    expect(textOf(result)).toContain('cut off at the output limit');
    expect(await fileAt(stack, box, SLUGIFY_PATH)).toBe(SLUGIFY_SOURCE);
  }, 120_000);

  it('long-output: a text cut at max_tokens is followed by a request to go on, and the run merges', async () => {
    const { implement } = await play('long-output');
    const cut = implement.findIndex((t) => t.stopReason === 'max_tokens');
    expect(blocks(implement[cut]).map((b) => b.type)).toEqual(['text']);
    expect(String(blocks(implement[cut])[0]?.text).length).toBeGreaterThan(30_000);
    expect(JSON.stringify(implement[cut + 1]?.content)).toContain(
      'Your answer was cut off at the output limit',
    );
    expect(blocks(implement[cut + 2]).some((b) => b.type === 'tool_use')).toBe(true);
  }, 120_000);

  it('parallel-tools: three calls a turn each get their result, in order, and the run merges', async () => {
    const { implement } = await play('parallel-tools');
    const multi = implement
      .map((t, i) => [i, blocks(t).filter((b) => b.type === 'tool_use')] as const)
      .filter(([, calls]) => calls.length === 3);
    expect(multi.map(([, calls]) => calls.map((c) => c.name))).toEqual([
      ['read_file', 'read_file', 'list_files'],
      ['write_file', 'edit_file', 'write_file'],
    ]);
    for (const [at, calls] of multi) {
      const results = blocks(implement[at + 1]).filter((b) => b.type === 'tool_result');
      expect(results.map((r) => r.tool_use_id)).toEqual(calls.map((c) => c.id));
      expect(results.map((r) => r.is_error)).toEqual([false, false, false]);
    }
  }, 120_000);

  it('regex-search: grep with a regular expression answers the matching lines', async () => {
    const { implement } = await play('regex-search');
    const at = implement.findIndex((t) => blocks(t).some((b) => b.name === 'grep'));
    const call = blocks(implement[at]).find((b) => b.name === 'grep');
    expect(call?.input?.pattern).toBe(EXPORT_PATTERN);
    const result = resultOf(implement, at, call?.id);
    expect(result?.is_error).toBe(false);
    expect(textOf(result)).toMatch(/src\/index\.js:\d+:export function capitalize/);
  }, 120_000);

  it('missing-file: reading a file that does not exist is a tool error the model recovers from', async () => {
    const { implement } = await play('missing-file');
    const at = implement.findIndex((t) => blocks(t).some((b) => b.input?.path === MISSING_PATH));
    const call = blocks(implement[at]).find((b) => b.input?.path === MISSING_PATH);
    const result = resultOf(implement, at, call?.id);
    expect(result?.is_error).toBe(true);
    expect(textOf(result)).toContain(`${MISSING_PATH}: no such file`);
  }, 120_000);

  it('thinking: extended thinking on plan and review (factory.yml): thinking blocks kept and sent back signed; the run merges', async () => {
    const scenario = scenarioNamed('thinking');
    const box = await sandbox(stack, 'thinking', { files: scenario?.files as Record<string, string> });
    stack.model?.reset();
    const started = await startScenario(stack, box, scenario?.script ?? sampleScript);
    expect(await decideRun(stack, started.runId, 'approve')).toBe(200);
    const run = await finished(stack, started.runId);
    expect(run.status, `${run.error?.class}: ${run.error?.cause}`).toBe('SUCCEEDED');
    for (const { stage, conversationId } of run.conversations) {
      const { meta, turns } = await stack.store.getConversationWithTurns(conversationId);
      const answers = turns.filter((t) => t.role === 'assistant');
      const budget = { plan: 4000, review: 4000 }[stage as 'plan' | 'review'];
      expect(meta?.thinkingBudgetTokens, stage).toBe(budget);
      for (const answer of answers) {
        const [first] = blocks(answer);
        if (budget) expect(first, stage).toMatchObject({ type: 'thinking', signature: expect.any(String) });
        else expect(first?.type, stage).not.toBe('thinking');
      }
    }
    // Every call of plan and review asked for thinking, none of implement; the stand-in refused none
    // (it answers 400 to a tool-loop follow-up whose thinking was dropped or altered).
    const calls = (stack.model?.calls() ?? []).filter((c) => c.path === '/v1/messages');
    expect(calls.every((c) => c.status === 200)).toBe(true);
    const budgets = new Map(calls.map((c) => [c.stage, c.thinkingBudget]));
    expect(Object.fromEntries(budgets)).toEqual({ plan: 4000, implement: undefined, review: 4000 });
  }, 120_000);

  it('refusal: the run ends BLOCKED with the model refusal and its words', async () => {
    const { run, implement } = await play('refusal');
    expect(run.error?.class).toBe('ModelRefused');
    expect(run.error?.cause).toContain(REFUSAL_TEXT);
    expect(implement.filter((t) => t.stopReason === 'refusal')).toHaveLength(1);
  }, 90_000);
});
