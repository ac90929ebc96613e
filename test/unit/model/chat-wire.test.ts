import { describe, expect, it } from 'vitest';
import { toChatMessages } from '../../../functions/shared/adapters/openai-compatible';
import { chatRequest } from '../../../local/model/wire';

describe("the stand-in's chat completions wire", () => {
  it('reads a tool result the adapter marked as an error (Chat Completions have no is_error) as one', () => {
    // What the adapter sends for a refused submit_change and a run that worked.
    const messages = toChatMessages({
      model: 'm',
      system: 'You implement.',
      tools: [],
      maxTokens: 100,
      messages: [
        { role: 'user', content: 'Implement issue 1.' },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'c1', name: 'run', input: { command: 'node --test' } },
            { type: 'tool_use', id: 'c2', name: 'submit_change', input: { status: 'COMPLETE' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'c1', content: 'exit_code: 0' },
            {
              type: 'tool_result',
              tool_use_id: 'c2',
              content: 'Not submitted: environment.checks failed (round 1)',
              is_error: true,
            },
          ],
        },
      ],
    });
    const request = chatRequest({ model: 'm', max_tokens: 100, messages });
    expect(request.messages.at(-1)?.content).toEqual([
      { type: 'tool_result', tool_use_id: 'c1', content: 'exit_code: 0' },
      {
        type: 'tool_result',
        tool_use_id: 'c2',
        content: 'Error: Not submitted: environment.checks failed (round 1)',
        is_error: true,
      },
    ]);
  });
});
