import { describe, expect, it } from 'vitest';
import { turnBudgetAt } from '../../../functions/stages/turn-budget';
import { setUp } from './agent-harness';

/**
 * The turn budget (`limits.turns` of the run contract): every tool-result turn tells the model how
 * many turns it has left; a stage still going after its last turn ends `exhausted`.
 */

const read = (id: string) => ({ type: 'tool_use', id, name: 'read_file', input: { path: 'src/index.js' } });
const submit = (id: string, input: unknown) => ({ type: 'tool_use', id, name: 'submit_change', input });

describe('agent loop: turn budget', () => {
  it('counts model calls (the odd conversation turns)', () => {
    expect(turnBudgetAt(1, 4)).toEqual({ used: 1, limit: 4, left: 3 });
    expect(turnBudgetAt(7, 4)).toEqual({ used: 4, limit: 4, left: 0 });
  });

  it('tells the model the turns left after each turn, then ends the stage exhausted', async () => {
    const { store, runId, answer } = await setUp({ turns: { implement: 4 } });
    const notes: Array<string | undefined> = [];
    const outcomes: string[] = [];
    for (let i = 1; i <= 4; i++) {
      const { pointer, note, reply } = await answer([read(`t-${i}`)], 'tool_use');
      notes.push(note);
      outcomes.push(pointer.outcome);
      // The tool result still comes first: the note follows it.
      expect(reply[0]).toMatchObject({ type: 'tool_result', tool_use_id: `t-${i}` });
    }
    expect(notes).toEqual([
      '[3 of 4 turns left: finish up and call submit_change.]',
      '[2 of 4 turns left: finish up and call submit_change.]',
      '[1 of 4 turns left, your last: call submit_change now, or the stage stops where it is.]',
      '[No turns left of 4: the stage stops here, its pending change kept.]',
    ]);
    expect(outcomes).toEqual(['continue', 'continue', 'continue', 'exhausted']);
    expect(store.runs.get(runId)?.error).toEqual({
      class: 'TurnsExhausted',
      cause: 'implement used all 4 of its turns (limits.turns.implement) without calling submit_change',
    });
    expect(store.events.get(runId)?.at(-1)).toMatchObject({
      type: 'agent.stopped',
      data: { stage: 'implement', reason: 'TurnsExhausted', turns: 4 },
    });
  });

  it('says only the count while many turns are left', async () => {
    const { answer } = await setUp({ turns: { implement: 60 } });
    expect((await answer([read('t-1')], 'tool_use')).note).toBe('[59 of 60 turns left.]');
  });

  it('accepts a submission on the last turn; a refused one on the last turn ends exhausted', async () => {
    const done = await setUp({ turns: { implement: 2 } });
    await done.answer([read('t-1')], 'tool_use');
    const submitted = await done.answer(
      [submit('t-2', { status: 'COMPLETE', summary: 'Done', commit_message: 'Add it' })],
      'tool_use',
    );
    expect(submitted.pointer.outcome).toBe('complete');
    expect(submitted.note).toBeUndefined();
    expect(done.store.runs.get(done.runId)?.error).toBeUndefined();

    const refused = await setUp({ turns: { implement: 2 } });
    await refused.answer([read('t-1')], 'tool_use');
    const last = await refused.answer([submit('t-2', { status: 'COMPLETE' })], 'tool_use');
    expect(last.reply[0]).toMatchObject({
      is_error: true,
      content: expect.stringContaining('invalid input'),
    });
    expect(last.pointer.outcome).toBe('exhausted');
  });

  it('a reminder after an answer without a call counts as a turn too', async () => {
    const { answer } = await setUp({ turns: { implement: 2 } });
    await answer([read('t-1')], 'tool_use');
    const idle = await answer([{ type: 'text', text: 'Thinking.' }], 'end_turn');
    expect(idle.reply).toEqual([{ type: 'text', text: expect.stringContaining('call submit_change') }]);
    expect(idle.pointer.outcome).toBe('exhausted');
  });
});
