import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelChoice } from '../../../local/model/choice';
import { SCENARIOS, scenarioList } from '../../../local/model/scenarios';
import { parseModelScript, scriptOf } from '../../../local/model/script-file';
import { buildContext } from '../../../local/model/scripts';
import type { MessagesRequest } from '../../../local/model/api';
import { ciSummaryTurn } from '../../../local/model/ci-summary-script';
import { CI_LOGS_LABEL, CI_SUMMARY_SYSTEM } from '../../../functions/stages/ci-summary';
import { fence } from '../../../functions/stages/prompts';

/** `--scenario NAME|list` and `--model-script FILE` of `npm start` and `npm run demo`. */

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function fileWith(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'model-script-'));
  dirs.push(dir);
  const file = path.join(dir, 'script.json');
  await writeFile(file, text);
  return file;
}

/** A request of `stage` after `turns` assistant turns (each one text block, answered by the user). */
function request(terminal: string, turns: number, first = 'Issue #1: slugify'): MessagesRequest {
  const messages: MessagesRequest['messages'] = [{ role: 'user', content: first }];
  for (let i = 0; i < turns; i++)
    messages.push({ role: 'assistant', content: `turn ${i}` }, { role: 'user', content: 'go on' });
  return {
    model: 'claude-test',
    max_tokens: 100,
    messages,
    tools: [{ name: terminal, input_schema: { type: 'object' } }],
  } as MessagesRequest;
}

describe('--scenario list', () => {
  it('prints one `name  description` line per scenario, names unique', () => {
    const lines = scenarioList().split('\n');
    expect(lines).toHaveLength(SCENARIOS.length);
    for (const [i, line] of lines.entries()) {
      const scenario = SCENARIOS[i];
      expect(line).toMatch(
        new RegExp(`^${scenario?.name} {2,}${scenario?.description.replace(/[()]/g, '\\$&')}$`),
      );
    }
    expect(new Set(SCENARIOS.map((s) => s.name)).size).toBe(SCENARIOS.length);
    expect(SCENARIOS.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'sample',
        'clarify-twice',
        'same-failure-twice',
        'out-of-turns',
        'blocked-plan',
      ]),
    );
  });

  it('declares the outcome each scenario reaches', () => {
    const expected = Object.fromEntries(SCENARIOS.map((s) => [s.name, s.expect]));
    expect(expected).toMatchObject({
      sample: 'SUCCEEDED',
      'clarify-twice': 'SUCCEEDED',
      'blocked-plan': 'BLOCKED',
      'same-failure-twice': 'STOPPED',
      'out-of-turns': 'STOPPED',
      'stubborn-injection': 'FAILED',
      'follow-up': 'SUCCEEDED',
      'empty-answer': 'SUCCEEDED',
      'max-tokens-cut': 'SUCCEEDED',
      'long-output': 'SUCCEEDED',
      'parallel-tools': 'SUCCEEDED',
      'regex-search': 'SUCCEEDED',
      'missing-file': 'SUCCEEDED',
      refusal: 'BLOCKED',
      thinking: 'SUCCEEDED',
      'ci-log-summary': 'SUCCEEDED',
    });
  });
});

describe('the CI-log summary conversation (alias fast, no tools)', () => {
  const summaryRequest = (logs: string): MessagesRequest =>
    ({
      model: 'claude-haiku-4-5',
      max_tokens: 1024,
      system: CI_SUMMARY_SYSTEM,
      messages: [
        {
          role: 'user',
          // As functions/stages/ci-summary.ts writes it: the extracted failures, then the logs.
          content: `Repository acme/widgets: these checks failed.\n\n${fence('What a log parser extracted from the logs', 'not ok 9 - extracted, not logged')}\n\n${fence(CI_LOGS_LABEL, logs)}`,
        },
      ],
    }) as MessagesRequest;

  it('is recognised by its system prompt; the sample names the failed checks and quotes the first errors', () => {
    const request = summaryRequest(
      '## test: failure\nnpm ci\nadded 12 packages\nnot ok 1 - slugify strips\n  error: expected "a" got "a-"\n## lint: failure\nerror TS2322: bad',
    );
    const ctx = buildContext(request, 1);
    expect(ctx.stage).toBe('ci-summary');
    const text = (ciSummaryTurn(ctx).content[0] as { text: string }).text;
    expect(text).toContain('Failed checks: test (failure), lint (failure).');
    expect(text).toContain('- not ok 1 - slugify strips');
    expect(text).toContain('- error TS2322: bad');
    expect(text).not.toContain('added 12 packages');
    expect(text).not.toContain('extracted, not logged');
    // Without that system prompt, a request without tools is no stage the stand-in knows.
    expect(buildContext({ ...request, system: 'You are helpful.' }, 1).stage).toBe('other');
  });

  it("plays a model script's ci-summary turns, or the sample's when the file has none", () => {
    const request = summaryRequest('## test: failure\nnot ok 1 - x');
    const scripted = scriptOf(
      parseModelScript(
        JSON.stringify({ stages: { 'ci-summary': [[{ type: 'text', text: 'It is the x test.' }]] } }),
      ),
    );
    expect(scripted(request, buildContext(request, 1)).content).toEqual([
      { type: 'text', text: 'It is the x test.' },
    ]);
    const unscripted = scriptOf(parseModelScript(JSON.stringify({ stages: {} })));
    expect(JSON.stringify(unscripted(request, buildContext(request, 1)).content)).toContain(
      'Failed checks: test (failure).',
    );
  });
});

describe('modelChoice', () => {
  it('answers list, a scenario, and the usage errors', async () => {
    expect(await modelChoice({ scenario: 'list' }, {})).toEqual({ exit: 0, text: scenarioList() });
    expect(await modelChoice({}, {})).toEqual({});
    expect(await modelChoice({ scenario: 'clarify-twice' }, {})).toMatchObject({
      scenario: { name: 'clarify-twice', expect: 'SUCCEEDED' },
    });
    expect(await modelChoice({ scenario: 'nope' }, {})).toMatchObject({
      exit: 2,
      text: expect.stringContaining('no scenario named "nope"'),
    });
    expect(await modelChoice({ scenario: 'sample', modelScript: 'x.json' }, {})).toMatchObject({ exit: 2 });
    expect(await modelChoice({ scenario: 'sample' }, { ANTHROPIC_API_KEY: 'sk' })).toMatchObject({
      exit: 2,
      text: expect.stringContaining('ANTHROPIC_API_KEY is set'),
    });
    // The stand-in plays Bedrock whatever the Anthropic key; OPENAI_BASE_URL makes openai-compatible real.
    expect(
      await modelChoice({ scenario: 'sample', provider: 'bedrock' }, { ANTHROPIC_API_KEY: 'sk' }),
    ).toMatchObject({
      scenario: { name: 'sample' },
    });
    expect(
      await modelChoice(
        { scenario: 'sample', provider: 'openai-compatible' },
        { OPENAI_BASE_URL: 'http://x/v1' },
      ),
    ).toMatchObject({ exit: 2, text: expect.stringContaining('OPENAI_BASE_URL is set') });
  });

  it('loads a model script as a scenario of its own, or names what is wrong with it', async () => {
    const good = await fileWith(
      JSON.stringify({
        expect: 'BLOCKED',
        files: { 'a.txt': 'x' },
        stages: { plan: [[{ type: 'text', text: 'hi' }]] },
      }),
    );
    expect(await modelChoice({ modelScript: good }, {})).toMatchObject({
      scenario: { name: 'file:script.json', expect: 'BLOCKED', files: { 'a.txt': 'x' } },
    });
    const bad = await fileWith(
      JSON.stringify({
        expect: 'PLANNING',
        stages: { deploy: [], implement: [[{ type: 'tool_use', name: 'run' }]] },
      }),
    );
    const refused = await modelChoice({ modelScript: bad }, {});
    expect(refused).toMatchObject({ exit: 2 });
    const text = 'text' in refused ? refused.text : '';
    expect(text).toContain('is not a valid model script');
    expect(text).toMatch(/expect: must be a terminal status/);
    expect(text).toMatch(/stages\.deploy: stage keys are plan, implement, review, pr-review or ci-summary/);
    expect(text).toContain('stages.implement.0.content.0.input: must be the tool input, an object');
    expect(await modelChoice({ modelScript: await fileWith('{nope') }, {})).toMatchObject({
      exit: 2,
      text: expect.stringContaining('is not JSON'),
    });
  });
});

describe('scriptOf', () => {
  const script = scriptOf(
    parseModelScript(
      JSON.stringify({
        stages: {
          plan: [
            [{ type: 'tool_use', name: 'list_files', input: {} }],
            { content: [{ type: 'text', text: 'done' }], stop_reason: 'end_turn' },
          ],
          implement: [[{ type: 'text', text: 'first attempt' }]],
          'implement#2': [[{ type: 'text', text: 'fix attempt' }]],
        },
      }),
    ),
  );

  it('plays the Nth turn of the stage at its Nth model call, then an empty end_turn', () => {
    const at = (turns: number) =>
      script(request('submit_plan', turns), buildContext(request('submit_plan', turns), 1));
    expect(at(0)).toEqual({ content: [{ type: 'tool_use', name: 'list_files', input: {} }] });
    expect(at(1)).toEqual({ content: [{ type: 'text', text: 'done' }], stopReason: 'end_turn' });
    expect(at(2)).toMatchObject({
      stopReason: 'end_turn',
      content: [{ text: expect.stringContaining('no more turns') }],
    });
  });

  it('plays `<stage>#N` for the Nth conversation of the stage', () => {
    const implement = request('submit_change', 0);
    expect(script(implement, buildContext(implement, 1)).content).toEqual([
      { type: 'text', text: 'first attempt' },
    ]);
    expect(script(implement, buildContext(implement, 2)).content).toEqual([
      { type: 'text', text: 'fix attempt' },
    ]);
    expect(script(implement, buildContext(implement, 3)).content).toEqual([
      { type: 'text', text: 'first attempt' },
    ]);
  });
});
