import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Run } from '../../../functions/shared/domain/run';
import {
  BOT_LOGIN,
  SAMPLE_CI_COMMAND,
  SAMPLE_COLLABORATORS,
  SAMPLE_FILES,
  SAMPLE_ISSUE,
  SAMPLE_LABEL,
  SAMPLE_OWNER,
} from '../../../local/forge';
import { type ModelServer, type Script, startModel } from '../../../local/model/server';
import { failingThenFixedScenario, sampleScript } from '../../../local/model/scripts';
import { SLUGIFY_BUGGY_SOURCE, SLUGIFY_PATH, SLUGIFY_SOURCE } from '../../../local/model/sample-code';
import type { Stack } from '../../../local/stack';
import { firstRun, startTestStack } from '../../support/e2e';
import { decideRun, fileAt, finished } from '../pipeline/support';

/**
 * The agent loop against a model server of the test's own, reached through ANTHROPIC_BASE_URL
 * (the stack runs the real LLM worker with the Anthropic SDK; no stand-in of its own): a recording
 * proxy keeps every Messages request. The server behind it checks requests as the API does, so an
 * empty assistant turn sent back is a 400.
 */

const AGENTS_MD = 'Agents: run `node --test` before submitting; keep helpers in src/, one per file.';

interface Recorded {
  url: string;
  body: MessagesBody;
}
interface MessagesBody {
  max_tokens?: number;
  tools?: Array<{ name: string }>;
  messages: Array<{ role: string; content: unknown }>;
}

/** An answer the recorder gives itself instead of forwarding (a fault of the test's choosing). */
type Inject = (request: Recorded) => { status: number; body: unknown } | undefined;

async function startRecorder(target: string) {
  const seen: Recorded[] = [];
  const state: { inject?: Inject } = {};
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    if (req.method === 'POST' && /^\/v1\/messages(?:\?|$)/.test(req.url ?? '')) {
      const recorded = { url: req.url ?? '', body: JSON.parse(raw.toString('utf8')) as MessagesBody };
      seen.push(recorded);
      const injected = state.inject?.(recorded);
      if (injected) {
        res.writeHead(injected.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(injected.body));
        return;
      }
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (typeof value === 'string' && !['host', 'content-length', 'connection'].includes(name))
        headers[name] = value;
    const upstream = await fetch(`${target}${req.url}`, {
      method: req.method ?? 'GET',
      headers,
      ...(raw.length ? { body: raw } : {}),
    });
    res.writeHead(upstream.status, {
      'content-type': upstream.headers.get('content-type') ?? 'application/json',
    });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, state };
}

let model: ModelServer;
let recorder: Awaited<ReturnType<typeof startRecorder>>;
let stack: Stack;
let repoCounter = 0;

beforeAll(async () => {
  model = await startModel();
  recorder = await startRecorder(model.url);
  stack = await startTestStack({ anthropicApiKey: 'sk-ant-test-key', anthropicBaseUrl: recorder.url });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => (recorder ? recorder.server.close(resolve) : resolve(undefined)));
  await model?.close();
});

beforeEach(() => {
  recorder.seen.length = 0;
  recorder.state.inject = undefined;
  model.reset();
});

/** A copy of the sample repository with an AGENTS.md; labels its issue with `script` playing the model. */
async function startRun(
  label: string,
  script: Script,
): Promise<Run & { box: { owner: string; name: string; full: string } }> {
  repoCounter += 1;
  const name = `agents-${label}-${repoCounter}`;
  await stack.forge.actions.createRepo({
    owner: SAMPLE_OWNER,
    name,
    defaultBranch: 'main',
    files: { ...SAMPLE_FILES, 'AGENTS.md': AGENTS_MD },
    roles: { ...SAMPLE_COLLABORATORS, [BOT_LOGIN]: 'write' },
    ciCommand: SAMPLE_CI_COMMAND,
    labels: [{ name: SAMPLE_LABEL }],
    author: SAMPLE_ISSUE.author,
  });
  const issue = await stack.forge.actions.createIssue(SAMPLE_ISSUE.author, SAMPLE_OWNER, name, {
    title: SAMPLE_ISSUE.title,
    body: SAMPLE_ISSUE.body,
  });
  model.setScript(script);
  await stack.forge.actions.labelIssue('alice', SAMPLE_OWNER, name, issue.number, SAMPLE_LABEL);
  const box = { owner: SAMPLE_OWNER, name, full: `${SAMPLE_OWNER}/${name}` };
  return { ...(await firstRun(stack, box.full)), box };
}

const offers = (tool: string) => (r: Recorded) => (r.body.tools ?? []).some((t) => t.name === tool);
/** The first request of each conversation of a stage (one message: the first user turn), in order. */
const firstRequests = (tool: string) =>
  recorder.seen
    .filter((r) => offers(tool)(r) && r.body.messages.length === 1)
    .map((r) => JSON.stringify(r.body));
const hasEmptyTurn = (r: Recorded) =>
  r.body.messages.some((m) => (Array.isArray(m.content) ? m.content.length === 0 : m.content === ''));

/** The sample model, except that implement answers nothing (end_turn, no content) after tool results. */
function emptyAfterToolResults(times: number): Script {
  let left = times;
  return (request, ctx) => {
    const last = request.messages.at(-1);
    const afterResults =
      Array.isArray(last?.content) &&
      last.content.some((b) => (b as { type?: string }).type === 'tool_result');
    if (ctx.stage === 'implement' && afterResults && left > 0) {
      left -= 1;
      return { content: [], stopReason: 'end_turn' };
    }
    return sampleScript(request, ctx);
  };
}

/** The sample model, except that implement's first write_file comes cut at max_tokens (half its content). */
function cutFirstWrite(): Script {
  let cut = false;
  return (request, ctx) => {
    if (ctx.stage !== 'implement') return sampleScript(request, ctx);
    // After the cut turn the sample plays on from the step it was cut at.
    const spec = sampleScript(request, { ...ctx, turn: ctx.turn - (cut ? 1 : 0) });
    const write = spec.content.find((b) => b.type === 'tool_use' && b.name === 'write_file');
    if (cut || write?.type !== 'tool_use') return spec;
    cut = true;
    const content = String(write.input.content);
    return {
      content: [{ ...write, input: { ...write.input, content: content.slice(0, content.length / 2) } }],
      stopReason: 'max_tokens',
    };
  };
}

/** The sample model, except that implement refuses after its first tool results. */
const refuseInImplement: Script = (request, ctx) =>
  ctx.stage === 'implement' && ctx.exchanges.length > 0
    ? { content: [{ type: 'text', text: 'I will not continue with this request.' }], stopReason: 'refusal' }
    : sampleScript(request, ctx);

describe('the agent loop with a model of its own behind ANTHROPIC_BASE_URL', () => {
  it('an empty end_turn after tool results is recovered (no 400); each first turn carries the context', async () => {
    const run = await startRun('empty-once', emptyAfterToolResults(1));
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId);
    expect(done.status, `${done.error?.class}: ${done.error?.cause}`).toBe('SUCCEEDED');

    // The empty answer happened, and what followed never carried it back: no 400 at all.
    const calls = model.calls().filter((c) => c.path.startsWith('/v1/messages') && !c.path.includes('count'));
    expect(
      calls.some((c) => c.stage === 'implement' && c.toolCalls.length === 0 && c.stopReason === 'end_turn'),
    ).toBe(true);
    expect(calls.filter((c) => c.status !== 200)).toEqual([]);
    expect(recorder.seen.filter(hasEmptyTurn)).toEqual([]);
    const reminded = recorder.seen.find((r) =>
      JSON.stringify(r.body).includes('You ended your turn without calling a tool'),
    );
    expect(reminded).toBeDefined();

    // (b) Each stage's first request carries the repository's AGENTS.md; implement's the whole plan.
    const [plan] = firstRequests('submit_plan');
    const [implement] = firstRequests('submit_change');
    const [review] = firstRequests('submit_review');
    for (const first of [plan, implement, review]) expect(first).toContain(AGENTS_MD);
    for (const path of ['src/slugify.js', 'src/index.js', 'test/slugify.test.js'])
      expect(implement).toContain(`- ${path}`);
    expect(implement).toContain('Test plan:');
    expect(implement).toContain('node:test cases in test/slugify.test.js');
    expect(implement).toContain('Risks:');

    // The reviewer gets a unified diff with hunks for every changed file.
    const reviewText = JSON.parse(review ?? '{}').messages[0].content[0].text as string;
    for (const path of ['src/index.js', 'src/slugify.js', 'test/slugify.test.js']) {
      const part = reviewText.slice(reviewText.indexOf(`diff --git a/${path} b/${path}`));
      expect(part, path).toMatch(/^diff --git [^\n]*\n(?:[^\n]*\n)*?@@ -\d+,\d+ \+\d+,\d+ @@/);
    }
  }, 120_000);

  it('an empty end_turn twice in a row ends the run BLOCKED with a summary, not a 400', async () => {
    const run = await startRun('empty-twice', emptyAfterToolResults(2));
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('BLOCKED');
    expect(done.error?.class).toBe('NoSubmission');
    expect(done.error?.cause).toContain('without calling submit_change');
    expect(model.calls().filter((c) => c.status !== 200)).toEqual([]);
    expect(recorder.seen.filter(hasEmptyTurn)).toEqual([]);
  }, 90_000);

  it("a fix attempt's first request carries its previous diff and the failure", async () => {
    const run = await startRun('fix', failingThenFixedScenario);
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('SUCCEEDED');
    const [first, fix] = firstRequests('submit_change');
    expect(first).not.toContain('Your previous attempt');
    const text = JSON.parse(fix ?? '{}').messages[0].content[0].text as string;
    expect(text).toContain('Your previous attempt');
    expect(text).toContain('+++ b/src/slugify.js');
    const buggyLine = SLUGIFY_BUGGY_SOURCE.split('\n').find((l) => l.trim().length > 20) ?? '';
    expect(text).toContain(`+${buggyLine}`);
    expect(text.indexOf('+++ b/src/slugify.js')).toBeLessThan(
      text.indexOf('CI failed on your previous change'),
    );
  }, 120_000);

  it('a write_file cut at max_tokens is never run; the next call gets twice the output budget', async () => {
    const run = await startRun('cut', cutFirstWrite());
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId);
    expect(done.status, `${done.error?.class}: ${done.error?.cause}`).toBe('SUCCEEDED');
    const implement = recorder.seen.filter(offers('submit_change'));
    const after = implement.findIndex((r) =>
      JSON.stringify(r.body).includes('call was cut off at the output limit'),
    );
    expect(after).toBeGreaterThan(0);
    expect(implement[after - 1]?.body.max_tokens).toBe(16000);
    expect(implement[after]?.body.max_tokens).toBe(32000);
    expect(implement[after + 1]?.body.max_tokens).toBe(16000);
    // The half-written file never reached the branch: the merged file is the whole one.
    expect(await fileAt(stack, run.box as never, SLUGIFY_PATH)).toBe(SLUGIFY_SOURCE);
  }, 120_000);

  it('a refusal ends the run BLOCKED with the reason', async () => {
    const run = await startRun('refusal', refuseInImplement);
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('BLOCKED');
    expect(done.error?.class).toBe('ModelRefused');
    expect(done.error?.cause).toContain('I will not continue with this request.');
  }, 90_000);

  it('"prompt is too long" is recovered from: the call is made again with older tool results cleared', async () => {
    let injected = 0;
    recorder.state.inject = (r) => {
      if (!offers('submit_change')(r) || r.body.messages.length < 9 || injected > 0) return undefined;
      injected += 1;
      return {
        status: 400,
        body: {
          type: 'error',
          error: {
            type: 'invalid_request_error',
            message: 'prompt is too long: 210000 tokens > 200000 maximum',
          },
        },
      };
    };
    const run = await startRun('too-long', sampleScript);
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId);
    expect(done.status, `${done.error?.class}: ${done.error?.cause}`).toBe('SUCCEEDED');
    expect(injected).toBe(1);
    const implement = recorder.seen.filter(offers('submit_change'));
    const failed = implement.findIndex((r) => r.body.messages.length >= 9);
    expect(JSON.stringify(implement[failed]?.body)).not.toContain('older tool result cleared');
    expect(JSON.stringify(implement[failed + 1]?.body)).toContain('older tool result cleared');
    expect(implement[failed + 1]?.body.messages).toHaveLength(implement[failed]?.body.messages.length ?? 0);
  }, 120_000);
});
