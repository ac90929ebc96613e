import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import { isTerminal, RunStatus } from '../../functions/shared/domain/run';
import type { Scenario } from './scenarios';
import { ciSummaryTurn } from './ci-summary-script';
import type { ResponseSpec, Script, SpecBlock } from './scripts';

/**
 * `--model-script FILE`: a model conversation written down as JSON, played by the stand-in so a
 * user can reproduce one offline (format in local/model/README.md, "Model scripts"). Each stage
 * key lists the assistant turns of that stage's conversations in order; `implement#2` (any stage,
 * any attempt) is the second conversation of that stage, e.g. a fix attempt. A conversation that
 * runs past its list gets an empty `end_turn`, which the agent loop reminds once, then ends BLOCKED.
 */

const Block = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('text'), text: z.string().min(1) }),
    z.strictObject({
      type: z.literal('tool_use'),
      name: z.string().min(1).max(64),
      input: z.record(z.string(), z.unknown(), { error: 'must be the tool input, an object' }),
    }),
  ],
  { error: "must be a block: {type: 'text', text} or {type: 'tool_use', name, input}" },
);

/** A turn: its blocks, or `{content, stop_reason}`. */
const Turn = z.preprocess(
  (value) => (Array.isArray(value) ? { content: value } : value),
  z.strictObject(
    {
      content: z.array(Block).min(1, { error: 'a turn needs at least one block' }),
      stop_reason: z.enum(['end_turn', 'tool_use', 'max_tokens', 'pause_turn', 'refusal']).optional(),
    },
    { error: 'must be a turn: a list of blocks, or {content, stop_reason}' },
  ),
);

const STAGE_KEY = /^(plan|implement|review|pr-review|ci-summary)(#[1-9]\d*)?$/;

export const ModelScriptFile = z.strictObject({
  description: z.string().max(500).optional(),
  /** The run's terminal status the demo expects (default SUCCEEDED). */
  expect: RunStatus.refine(isTerminal, {
    error: 'must be a terminal status (SUCCEEDED, BLOCKED, STOPPED, …)',
  }).optional(),
  /** Files committed to the sample's main branch before the run (null deletes). */
  files: z.record(z.string().min(1), z.string().nullable()).optional(),
  stages: z.record(
    z.string().regex(STAGE_KEY, {
      error:
        'stage keys are plan, implement, review, pr-review or ci-summary, optionally #N for the Nth conversation',
    }),
    z.array(Turn).max(200),
  ),
});
export type ModelScriptFile = z.infer<typeof ModelScriptFile>;

const EXHAUSTED: ResponseSpec = {
  content: [{ type: 'text', text: '(the model script has no more turns for this stage)' }],
  stopReason: 'end_turn',
};

/** The script a parsed file plays: turn N of a stage's conversation is the Nth entry of its list. */
export function scriptOf(file: ModelScriptFile): Script {
  return (_request, ctx) => {
    if (ctx.stage === 'other') return { content: [{ type: 'text', text: 'OK.' }], stopReason: 'end_turn' };
    const turns = file.stages[`${ctx.stage}#${ctx.attempt}`] ?? file.stages[ctx.stage];
    // A file that does not script the CI-log summary gets the sample's.
    if (!turns && ctx.stage === 'ci-summary') return ciSummaryTurn(ctx);
    const turn = turns?.[ctx.turn];
    if (!turn) return EXHAUSTED;
    return {
      content: turn.content as SpecBlock[],
      ...(turn.stop_reason ? { stopReason: turn.stop_reason } : {}),
    };
  };
}

/** Parses the file's JSON, naming the field of each problem. */
export function parseModelScript(text: string, source = 'model script'): ModelScriptFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not JSON: ${(error as Error).message}`);
  }
  const parsed = ModelScriptFile.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, 10).map((issue) => {
    // A record key's own message is nested in the issue.
    const inner = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
    return `  ${issue.path.map(String).join('.') || '(file)'}: ${inner ?? issue.message}`;
  });
  throw new Error(`${source} is not a valid model script:\n${problems.join('\n')}`);
}

/** `--model-script FILE` as a scenario of its own. */
export async function loadModelScript(file: string): Promise<Scenario> {
  const parsed = parseModelScript(await readFile(file, 'utf8'), file);
  return {
    name: `file:${path.basename(file)}`,
    description: parsed.description ?? `the model script ${file}`,
    script: scriptOf(parsed),
    expect: parsed.expect ?? 'SUCCEEDED',
    ...(parsed.files ? { files: parsed.files } : {}),
  };
}
