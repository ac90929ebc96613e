import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, describe, expect, it } from 'vitest';
import { type DemoResult, runDemo } from '../../../local/demo';
import { SAMPLE_FILES } from '../../../local/forge';

const run = promisify(execFile);

/**
 * The README's promise: `npm run demo -- --auto-approve --json` takes the sample issue to a merged
 * PR. Checked from the outside: the result JSON has SPEC §7's shape, and a real `git clone` of the
 * forge's repository has the merged change on main, whose own tests pass with `node --test`.
 */
describe('npm run demo -- --auto-approve --json', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('ends SUCCEEDED with the SPEC §7 result, and main of acme/widgets has the change and passes node --test', async () => {
    let cloned:
      | { head: string; slugify: string; slugifyTest: string; index: string; testRun: string }
      | undefined;
    let executionStatus: string | undefined;
    const result: DemoResult = await runDemo({
      autoApprove: true,
      json: true,
      timeoutMs: 120_000,
      inspect: async (stack, demo) => {
        // The result (transitions included) is read once the execution has ended, not just the run.
        const executionArn = `${stack.stateMachineArn.replace(':stateMachine:', ':execution:')}:${demo.runId}`;
        executionStatus = (await stack.sfn.send(new DescribeExecutionCommand({ executionArn }))).status;
        const dir = await mkdtemp(path.join(tmpdir(), 'widgets-'));
        dirs.push(dir);
        await run('git', ['clone', '--quiet', `${stack.forgeUrl}/acme/widgets.git`, dir], {
          timeout: 30_000,
        });
        const head = (await run('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim();
        const tests = await run(process.execPath, ['--test'], { cwd: dir, timeout: 60_000 });
        cloned = {
          head,
          slugifyTest: await readFile(path.join(dir, 'test/slugify.test.js'), 'utf8'),
          slugify: await readFile(path.join(dir, 'src/slugify.js'), 'utf8'),
          index: await readFile(path.join(dir, 'src/index.js'), 'utf8'),
          testRun: tests.stdout,
        };
      },
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(executionStatus).toBe('SUCCEEDED');
    expect(Object.keys(result).sort()).toEqual(
      [
        'costUsd',
        'durationMs',
        'ledger',
        'mergedSha',
        'prUrl',
        'runId',
        'scenario',
        'expectedStatus',
        'stages',
        'status',
        'transitions',
      ].sort(),
    );
    expect([result.scenario, result.expectedStatus]).toEqual(['sample', 'SUCCEEDED']);
    expect(result.prUrl).toMatch(/\/acme\/widgets\/pull\/\d+$/);
    expect(result.mergedSha).toMatch(/^[0-9a-f]{40}$/);
    expect(result.stages.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'admit',
        'plan',
        'implement',
        'boundary',
        'publish',
        'checks',
        'review',
        'approval',
        'merge',
      ]),
    );
    expect(result.stages.every((s) => s.status === 'SUCCEEDED' && s.ms >= 0)).toBe(true);
    expect(result.ledger.llmCalls).toBeGreaterThan(0);
    expect(result.ledger.costUsd).toBeCloseTo(result.costUsd, 6);
    expect(result.transitions).toBeGreaterThan(10);
    expect(result.transitions).toBeLessThanOrEqual(80);

    expect(cloned).toBeDefined();
    expect(cloned?.head).toBe(result.mergedSha);
    expect(cloned?.slugify).toMatch(/export function slugify/);
    expect(cloned?.index).toMatch(/slugify/);
    // node --test exits non-zero on any failing test (execFile would have thrown); it ran the new ones.
    expect(cloned?.testRun).toMatch(/# pass [1-9]/);
    expect(cloned?.testRun).toMatch(/# fail 0/);
    // More tests pass than the sample started with: the new slugify tests ran too.
    const before = (SAMPLE_FILES['test/index.test.js']?.match(/\btest\(/g) ?? []).length;
    const passed = Number(cloned?.testRun.match(/# pass (\d+)/)?.[1] ?? 0);
    expect(cloned?.slugifyTest).toMatch(/slugify/);
    expect(passed).toBeGreaterThan(before);
  }, 180_000);
});
