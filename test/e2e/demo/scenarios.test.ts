import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { type DemoResult, runDemo } from '../../../local/demo';
import { scenarioNamed } from '../../../local/model/scenarios';
import { loadModelScript } from '../../../local/model/script-file';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

/**
 * The stand-in anyone can drive: `npm run demo -- --scenario NAME|list` and `--model-script FILE`.
 * A scenario's run ends in the outcome it declares, the result JSON says which, and the exit code
 * is 0 when it was reached.
 */
describe('npm run demo -- --scenario', () => {
  it('--scenario list prints one `name  description` line per scenario', async () => {
    const { stdout } = await run(TSX, ['local/demo.ts', '--scenario', 'list'], {
      cwd: ROOT,
      timeout: 30_000,
    });
    const lines = stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines).toContainEqual(expect.stringMatching(/^clarify-twice {2,}\S/));
    expect(lines).toContainEqual(expect.stringMatching(/^same-failure-twice {2,}\S/));
  }, 60_000);

  it('npm start takes the same options: the list, and a usage error (exit 2) for an unknown scenario', async () => {
    const { stdout } = await run(TSX, ['local/start.ts', '--scenario', 'list'], {
      cwd: ROOT,
      timeout: 30_000,
    });
    expect(stdout).toMatch(/^sample {2,}\S/m);
    const refused = await run(TSX, ['local/start.ts', '--scenario', 'nope'], {
      cwd: ROOT,
      timeout: 30_000,
    }).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toContain('no scenario named "nope"');
  }, 60_000);

  it('same-failure-twice ends STOPPED as it declares, and the demo exits 0 with its work on a draft PR', async () => {
    const { stdout } = await run(
      TSX,
      ['local/demo.ts', '--scenario', 'same-failure-twice', '--auto-approve', '--json', '--timeout', '120'],
      { cwd: ROOT, timeout: 150_000, env: { ...process.env, ANTHROPIC_API_KEY: '' } },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as DemoResult;
    expect(result).toMatchObject({
      status: 'STOPPED',
      scenario: 'same-failure-twice',
      expectedStatus: 'STOPPED',
    });
    expect(result.prUrl).toMatch(/\/acme\/widgets\/pull\/\d+$/);
    expect(result.mergedSha).toBeNull();
  }, 180_000);

  it('clarify-twice: --auto-approve answers both rounds of questions, and the run merges', async () => {
    let asked = 0;
    const result = await runDemo({
      autoApprove: true,
      json: true,
      timeoutMs: 120_000,
      scenario: scenarioNamed('clarify-twice'),
      inspect: async (stack, demo) => {
        const events = (await stack.store.listEvents(demo.runId, { limit: 500 })).items;
        asked = events.filter((e) => e.type === 'clarify.asked').length;
      },
    });
    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      scenario: 'clarify-twice',
      expectedStatus: 'SUCCEEDED',
    });
    expect(asked).toBe(2);
  }, 150_000);

  it('--model-script plays the example file of assistant turns to a merged PR', async () => {
    const scenario = await loadModelScript(path.join(ROOT, 'local/model/examples/slugify.json'));
    const result = await runDemo({ autoApprove: true, json: true, timeoutMs: 120_000, scenario });
    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      scenario: 'file:slugify.json',
      expectedStatus: 'SUCCEEDED',
    });
    expect(result.ledger.llmCalls).toBe(7);
  }, 150_000);

  it("rescue: bob's PR whose CI fails is fixed on its branch; the JSON says the kind and the rescued PR, and nothing merged", async () => {
    const { stdout } = await run(
      TSX,
      ['local/demo.ts', '--scenario', 'rescue', '--auto-approve', '--json', '--timeout', '120'],
      { cwd: ROOT, timeout: 150_000, env: { ...process.env, ANTHROPIC_API_KEY: '' } },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as DemoResult;
    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      kind: 'rescue',
      scenario: 'rescue',
      expectedStatus: 'SUCCEEDED',
      mergedSha: null,
    });
    expect(result.rescuedPr?.number).toBeGreaterThan(0);
    expect(result.rescuedPr?.url).toMatch(new RegExp(`/acme/widgets/pull/${result.rescuedPr?.number}$`));
    expect(result.prUrl).toBe(result.rescuedPr?.url);
    expect(result.stages.map((s) => s.name)).toEqual([
      'admit',
      'checks',
      'implement',
      'boundary',
      'publish',
      'checks',
    ]);
  }, 180_000);

  it('follow-up: the run at approval is superseded by a follow-up on its PR, which merges; the demo exits 0', async () => {
    const { stdout } = await run(
      TSX,
      ['local/demo.ts', '--scenario', 'follow-up', '--auto-approve', '--json', '--timeout', '120'],
      { cwd: ROOT, timeout: 150_000, env: { ...process.env, ANTHROPIC_API_KEY: '' } },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as DemoResult;
    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      kind: 'follow-up',
      scenario: 'follow-up',
      expectedStatus: 'SUCCEEDED',
      superseded: { status: 'SUPERSEDED' },
    });
    expect(result.superseded?.runId).not.toBe(result.runId);
    expect(result.stages.map((s) => s.name)).not.toContain('plan');
    expect(result.mergedSha).toMatch(/^[0-9a-f]{40}$/);
  }, 180_000);
});
