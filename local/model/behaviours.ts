import type { MessagesRequest } from './api';
import { blocksOf, textOfBlock } from './api';
import {
  INDEX_PATH,
  SAMPLE_TEST_COMMAND,
  SLUGIFY_PATH,
  SLUGIFY_SOURCE,
  SLUGIFY_TEST_PATH,
  SLUGIFY_TEST_SOURCE,
} from './sample-code';
import {
  exportSlugifyCalls,
  playbook,
  type ResponseSpec,
  type Script,
  type ScriptContext,
  sampleScript,
  submission,
} from './scripts';

/**
 * The sample model with the behaviours of real models that the agent loop must survive
 * (docs/agent.md, "Stop reasons"): an empty answer, a tool call or a text cut at max_tokens, a
 * refusal, parallel tool calls, regular-expression searches and reads of files that do not
 * exist. Each plays the sample's implement stage with one such turn and decides, like the other
 * scripts, from the conversation alone (what the agent loop told it), so a retried request gets
 * the same answer.
 */

/** Words of the agent loop's answers (functions/stages/stop-reasons.ts). */
const CUT_NOTE = /cut off at the output limit/;
const REMINDER = /You ended your turn without calling a tool/;

/** User messages of the request whose text says `pattern` (the agent loop's notes and errors). */
function userTurnsSaying(request: MessagesRequest, pattern: RegExp): number {
  return request.messages.filter(
    (m) => m.role === 'user' && blocksOf(m).some((block) => pattern.test(textOfBlock(block))),
  ).length;
}

/** The sample's answer as if the conversation's first `extra` assistant turns had not happened. */
const sampleAfter = (request: MessagesRequest, ctx: ScriptContext, extra: number): ResponseSpec =>
  sampleScript(request, { ...ctx, turn: ctx.turn - extra });

/** Only the implement stage differs from the sample. */
const inImplement =
  (play: (request: MessagesRequest, ctx: ScriptContext) => ResponseSpec): Script =>
  (request, ctx) =>
    ctx.stage === 'implement' ? play(request, ctx) : sampleScript(request, ctx);

/** After its first tool results, implement answers nothing at all (end_turn, no content), once. */
export const emptyAnswerScenario: Script = inImplement((request, ctx) =>
  ctx.exchanges.length > 0 && userTurnsSaying(request, REMINDER) === 0
    ? { content: [], stopReason: 'end_turn' }
    : sampleScript(request, ctx),
);

export const REFUSAL_TEXT = 'I am not able to help with this request.';

/** After its first tool results, implement refuses (stop reason `refusal`). */
export const refusalScenario: Script = inImplement((request, ctx) =>
  ctx.exchanges.length > 0
    ? { content: [{ type: 'text', text: REFUSAL_TEXT }], stopReason: 'refusal' }
    : sampleScript(request, ctx),
);

/** Text long enough that an answer holding it passes `maxTokens` (4 characters a token). */
function pastTheLimit(maxTokens: number, line: string): string {
  const lines = Math.ceil(((maxTokens + 2000) * 4) / (line.length + 1));
  return Array.from({ length: lines }, (_, i) => line.replace('#', String(i + 1))).join('\n');
}

/**
 * Implement writes slugify with a generated transliteration table far longer than its output
 * budget: the stand-in cuts the write_file mid-input at max_tokens, as the API does. Told that
 * the cut call was not run, it writes the module without the table.
 */
export const maxTokensCutScenario: Script = inImplement((request, ctx) => {
  const cuts = userTurnsSaying(request, CUT_NOTE);
  const spec = sampleAfter(request, ctx, cuts);
  if (cuts > 0) return spec;
  return {
    ...spec,
    content: spec.content.map((block) =>
      block.type === 'tool_use' && block.name === 'write_file' && block.input.path === SLUGIFY_PATH
        ? {
            ...block,
            input: {
              ...block.input,
              content: `${SLUGIFY_SOURCE}\n${pastTheLimit(request.max_tokens, "// transliteration #: 'a' -> 'a'")}\n`,
            },
          }
        : block,
    ),
  };
});

/**
 * Implement opens with an explanation longer than its output budget: the stand-in cuts the text
 * at max_tokens, before the tool call it meant to make. Asked to continue, it makes the call.
 */
export const longOutputScenario: Script = inImplement((request, ctx) => {
  const cuts = userTurnsSaying(request, CUT_NOTE);
  const spec = sampleAfter(request, ctx, cuts);
  if (cuts > 0 || ctx.turn > 0) return spec;
  const explanation = pastTheLimit(
    request.max_tokens,
    'Step #: consider how slugify treats this class of input before writing it.',
  );
  return { ...spec, content: [{ type: 'text', text: explanation }, ...spec.content] };
});

/** A path a model guesses for the helpers module; the sample repository has none. */
export const MISSING_PATH = 'src/utils.js';

/** Implement first reads a helpers module that does not exist, gets the tool error, and goes on. */
export const missingFileScenario: Script = inImplement((request, ctx) =>
  ctx.turn === 0
    ? {
        content: [
          { type: 'text', text: 'Helpers usually live in src/utils.js; reading it first.' },
          { type: 'tool_use', name: 'read_file', input: { path: MISSING_PATH } },
        ],
      }
    : sampleAfter(request, ctx, 1),
);

/** The regular expression implement searches the sources with (JavaScript syntax). */
export const EXPORT_PATTERN = '^export\\s+(?:async\\s+)?(?:function|const|class)\\s+\\w+';

/** Implement first searches the sources with a regular expression for how helpers are exported. */
export const regexSearchScenario: Script = inImplement((request, ctx) =>
  ctx.turn === 0
    ? {
        content: [
          { type: 'text', text: 'Searching for how the package exports its helpers.' },
          {
            type: 'tool_use',
            name: 'grep',
            input: { pattern: EXPORT_PATTERN, path: 'src', output_mode: 'content' },
          },
        ],
      }
    : sampleAfter(request, ctx, 1),
);

const closes = (prompt: string): string => {
  const issue = /Issue #(\d+)/i.exec(prompt)?.[1];
  return issue ? `\n\nCloses #${issue}` : '';
};

/** Implement in four turns: three reads at once, three writes at once, the tests, the submission. */
const parallelImplement = playbook([
  {
    say: 'Reading the entry point, the package manifest and the layout at once.',
    calls: () => [
      { name: 'read_file', input: { path: INDEX_PATH } },
      { name: 'read_file', input: { path: 'package.json' } },
      { name: 'list_files', input: {} },
    ],
  },
  {
    say: 'Writing the module, its export and its tests together.',
    calls: (ctx) => [
      { name: 'write_file', input: { path: SLUGIFY_PATH, content: SLUGIFY_SOURCE } },
      ...exportSlugifyCalls(ctx),
      { name: 'write_file', input: { path: SLUGIFY_TEST_PATH, content: SLUGIFY_TEST_SOURCE } },
    ],
  },
  {
    when: (ctx) => ctx.offeredTools.includes('run'),
    say: 'Running the tests.',
    calls: () => [{ name: 'run', input: { command: SAMPLE_TEST_COMMAND } }],
  },
  {
    calls: (ctx) => [
      submission(
        ctx,
        {
          status: 'COMPLETE',
          summary: 'Added slugify(text) in src/slugify.js, exported from src/index.js, with node:test tests.',
        },
        { commit_message: `Add slugify(text) helper${closes(ctx.prompt)}` },
      ),
    ],
  },
]);

/** Implement calls several tools in one turn (reads, then writes), as real models do. */
export const parallelToolsScenario: Script = inImplement((_request, ctx) => parallelImplement(ctx));
