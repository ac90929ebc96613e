import { describe, expect, it } from 'vitest';
import { setUp } from './agent-harness';

/**
 * The agent loop's tools step for each stop reason of an assistant turn: what it runs, what it
 * answers the model, and when it ends the stage BLOCKED.
 */

const call = (id: string, name: string, input: unknown) => ({ type: 'tool_use', id, name, input });
const read = call('t-read', 'read_file', { path: 'src/index.js' });

describe('agent loop: stop reasons', () => {
  it('an empty end_turn gets one reminder; a second one in a row ends the stage BLOCKED', async () => {
    const { store, runId, answer } = await setUp();
    await answer([read], 'tool_use');
    const first = await answer([], 'end_turn');
    expect(first.pointer.outcome).toBe('continue');
    expect(first.reply).toEqual([{ type: 'text', text: expect.stringContaining('call submit_change') }]);

    const second = await answer([], 'end_turn');
    expect(second.pointer.outcome).toBe('blocked');
    expect(store.runs.get(runId)?.error).toEqual({
      class: 'NoSubmission',
      cause: expect.stringContaining('twice in a row without calling submit_change'),
    });
    expect(store.runs.get(runId)?.error?.cause).toContain('Its last answer was empty');
    expect(store.events.get(runId)?.map((e) => e.type)).toContain('agent.stopped');
  });

  it('a text-only end_turn is reminded too, and a tool call in between starts the count again', async () => {
    const { store, runId, answer } = await setUp();
    expect((await answer([{ type: 'text', text: 'All done.' }], 'end_turn')).pointer.outcome).toBe(
      'continue',
    );
    expect((await answer([read], 'tool_use')).pointer.outcome).toBe('continue');
    expect((await answer([{ type: 'text', text: 'Done now.' }], 'end_turn')).pointer.outcome).toBe(
      'continue',
    );
    const stopped = await answer([{ type: 'text', text: 'Really done.' }], 'end_turn');
    expect(stopped.pointer.outcome).toBe('blocked');
    expect(store.runs.get(runId)?.error?.cause).toContain('Its last words: Really done.');
  });

  it('a tool call cut at max_tokens is never run; the whole calls before it are', async () => {
    const { answer, file } = await setUp();
    const whole = call('t-1', 'write_file', { path: 'src/a.js', content: 'export const a = 1;\n' });
    const cut = call('t-2', 'write_file', { path: 'src/b.js', content: 'export const b = "half' });
    const { pointer, reply } = await answer([{ type: 'text', text: 'Writing.' }, whole, cut], 'max_tokens');
    expect(pointer.outcome).toBe('continue');
    expect(await file('src/a.js')).toBe('export const a = 1;\n');
    expect(await file('src/b.js')).toBeUndefined();
    expect(reply).toEqual([
      { type: 'tool_result', tool_use_id: 't-1', content: expect.any(String), is_error: false },
      {
        type: 'tool_result',
        tool_use_id: 't-2',
        content: expect.stringMatching(/write_file call was cut off .* not run/),
        is_error: true,
      },
    ]);
  });

  it('a cut terminal call is not submitted, even when what arrived of it looks valid', async () => {
    const { store, runId, answer } = await setUp();
    const cut = call('t-1', 'submit_change', {
      status: 'COMPLETE',
      summary: 'Did it',
      commit_message: 'Add',
    });
    const { pointer, reply } = await answer([cut], 'max_tokens');
    expect(pointer.outcome).toBe('continue');
    expect(reply[0]).toMatchObject({ tool_use_id: 't-1', is_error: true });
    expect(store.events.get(runId)?.map((e) => e.type) ?? []).not.toContain('change.submitted');
  });

  it('a text answer cut at max_tokens is asked to go on (no reminder counted)', async () => {
    const { answer } = await setUp();
    const cut = await answer([{ type: 'text', text: 'Let me think about' }], 'max_tokens');
    expect(cut.reply).toEqual([
      { type: 'text', text: expect.stringContaining('cut off at the output limit') },
    ]);
    // An end_turn right after it is the first without a call: a reminder, not the end.
    expect((await answer([], 'end_turn')).pointer.outcome).toBe('continue');
  });

  it('a refusal ends the stage BLOCKED and runs nothing of the turn', async () => {
    const { store, runId, answer, file } = await setUp();
    const write = call('t-1', 'write_file', { path: 'src/x.js', content: 'x\n' });
    const { pointer } = await answer([{ type: 'text', text: 'I cannot help with that.' }, write], 'refusal');
    expect(pointer.outcome).toBe('blocked');
    expect(await file('src/x.js')).toBeUndefined();
    expect(store.runs.get(runId)?.error).toEqual({
      class: 'ModelRefused',
      cause: expect.stringContaining('declined to continue'),
    });
    expect(store.runs.get(runId)?.error?.cause).toContain('I cannot help with that.');
  });

  it('pause_turn continues', async () => {
    const { answer } = await setUp();
    const paused = await answer([{ type: 'text', text: 'Working' }], 'pause_turn');
    expect(paused.pointer.outcome).toBe('continue');
    expect(paused.reply).toEqual([{ type: 'text', text: 'Continue.' }]);
  });

  it('an input that does not fit the tool schema is answered with the schema error, never run', async () => {
    const { store, runId, answer, file } = await setUp();
    const { pointer, reply } = await answer(
      [
        call('t-1', 'read_file', { file_path: 'src/index.js' }),
        call('t-2', 'write_file', { path: 'src/y.js' }),
        call('t-3', 'submit_change', 'not an object'),
        call('t-4', 'read_file', { path: 'src/index.js', limit: '5' }),
      ],
      'tool_use',
    );
    expect(pointer.outcome).toBe('continue');
    expect(await file('src/y.js')).toBeUndefined();
    expect(reply[0]).toMatchObject({ is_error: true, content: expect.stringContaining('"file_path"') });
    expect(reply[1]).toMatchObject({
      is_error: true,
      content: expect.stringContaining("must have required property 'content'"),
    });
    expect(reply[2]).toMatchObject({ is_error: true, content: expect.stringContaining('must be object') });
    // Integers sent as strings are accepted, as the workbench promises.
    expect(reply[3]).toMatchObject({ is_error: false, content: expect.stringContaining('export {};') });
    expect(store.events.get(runId)?.map((e) => e.type) ?? []).not.toContain('change.submitted');
  });
});
