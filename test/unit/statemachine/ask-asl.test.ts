import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { MAX_ASK_TURNS } from '../../../functions/shared/domain/turns';
import { renderAsk } from '../../../statemachines/ask';

const require = createRequire(import.meta.url);
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errors: unknown[];
};

const text = readFileSync(new URL('../../../statemachines/ask.asl.json', import.meta.url), 'utf8');
const asl = JSON.parse(text) as { States: Record<string, Record<string, unknown>> };

describe('statemachines/ask.asl.json (the copilot)', () => {
  it('is what statemachines/ask.ts generates, and valid ASL in JSONPath', () => {
    expect(text).toBe(renderAsk());
    expect(aslValidator(asl).errors).toEqual([]);
    expect(text).not.toMatch(/JSONata/);
  });

  it('sends each turn to the LLM queue with the fast alias, as SPEC §4 asks', () => {
    const turn = asl.States.AskTurn as {
      Resource: string;
      Parameters: { MessageBody: Record<string, unknown> };
    };
    expect(turn.Resource).toBe('arn:aws:states:::sqs:sendMessage.waitForTaskToken');
    expect(Object.keys(turn.Parameters.MessageBody).sort()).toEqual(
      ['conversationId.$', 'modelAlias', 'runId.$', 'stage', 'taskToken.$', 'turn.$'].sort(),
    );
    expect(turn.Parameters.MessageBody.modelAlias).toBe('fast');
  });

  it('bounds the loop, times out every task, and ends every error in AskFailed', () => {
    const route = JSON.stringify(asl.States.AskRoute);
    expect(route).toContain(`"NumericLessThan":${2 * MAX_ASK_TURNS}`);
    for (const [name, state] of Object.entries(asl.States)) {
      if (state.Type !== 'Task') continue;
      expect(typeof state.TimeoutSeconds, name).toBe('number');
      const next = (state.Catch as Array<{ Next: string }>).map((c) => c.Next);
      expect(next, name).toEqual([name === 'AskFailed' ? 'Failed' : 'AskFailed']);
    }
  });

  it('calls only the copilot function and the LLM queue', () => {
    const placeholders = [...new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]))].sort();
    expect(placeholders).toEqual(['CopilotFunctionArn', 'LlmQueueUrl']);
  });
});
