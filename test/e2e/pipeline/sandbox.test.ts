import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/dynamodb';
import { SLUGIFY_BUGGY_SOURCE, SLUGIFY_SOURCE } from '../../../local/model/sample-code';
import {
  checksThenFixedScenario,
  createSampleModel,
  type Script,
  sampleScript,
  sameFailureTwiceScenario,
  submission,
} from '../../../local/model/scripts';
import { LocalSandbox } from '../../../local/sandbox/runner';
import { type Stack, WORKSPACE_BUCKET } from '../../../local/stack';
import { startTestStack } from '../../support/e2e';
import {
  decideRun,
  eventsOf,
  fileAt,
  finished,
  forgeGet,
  issueComments,
  pullCommits,
  pullOf,
  sandbox,
  startScenario,
} from './support';

/**
 * The agent's sandbox through the whole stack: the `run` tool and `environment.checks` go from the
 * Tools step to the sandbox function (bound to the local bubblewrap runner) and back.
 */

/** Without a usable bubblewrap the stack runs the scripted model's commands unisolated. */
const isolation = new LocalSandbox().isolation();

const CHECKS_YML = 'version: 1\nenvironment:\n  checks:\n    - node --test\n';

let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

/** Every tool result the implement conversations of a run received, by tool name. */
async function toolResults(runId: string): Promise<Array<{ name: string; input: unknown; result: string }>> {
  const run = await stack.store.getRun(runId);
  const out: Array<{ name: string; input: unknown; result: string }> = [];
  for (const { stage, conversationId } of run?.conversations ?? []) {
    if (stage !== 'implement') continue;
    const { turns } = await stack.store.getConversationWithTurns(conversationId);
    const calls = new Map<string, { name: string; input: unknown }>();
    for (const turn of turns)
      for (const block of turn.content as Array<Record<string, unknown>>) {
        if (block.type === 'tool_use')
          calls.set(String(block.id), { name: String(block.name), input: block.input });
        if (block.type === 'tool_result') {
          const call = calls.get(String(block.tool_use_id));
          if (call) out.push({ ...call, result: String(block.content) });
        }
      }
  }
  return out;
}

describe('sandbox', () => {
  it('runs the sample model’s `node --test` and the declared checks before the change is submitted', async () => {
    const box = await sandbox(stack, 'sandbox-pass', { files: { '.github/factory.yml': CHECKS_YML } });
    const run = await startScenario(stack, box, sampleScript);
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('SUCCEEDED');

    const runs = (await toolResults(run.runId)).filter((r) => r.name === 'run');
    expect(runs).toHaveLength(1);
    expect(runs[0]?.result).toMatch(/^exit_code: 0\n/);
    // node's test runner summary: the sample's own test and the new slugify tests ran.
    expect(runs[0]?.result).toMatch(/# pass [1-9]/);
    expect(runs[0]?.result).toMatch(/# fail 0/);
    const types = (await eventsOf(stack, run.runId)).map((e) => e.type);
    expect(types).toContain('sandbox.checks-passed');
    expect(types).not.toContain('sandbox.checks-failed');

    // Sandbox time is billed: an entry per turn that ran commands, in the run's cost, not its calls.
    const ledger = await stack.store.listLedger(run.runId);
    const jobs = ledger.filter((entry) => entry.kind === 'sandbox');
    expect(jobs.length).toBeGreaterThanOrEqual(2); // the `run` turn and the checks turn
    for (const job of jobs) {
      expect(job.model).toBe('sandbox');
      expect(job.costUsd).toBeGreaterThan(0);
      expect(job.sandboxSeconds).toBeGreaterThan(0);
    }
    const totals = (await stack.store.getRun(run.runId))?.ledger;
    const micros = (usd: number) => Math.round(usd * 1e6);
    expect(micros(totals?.costUsd ?? 0)).toBe(ledger.reduce((sum, entry) => sum + micros(entry.costUsd), 0));
    expect(micros(totals?.costUsd ?? 0)).toBeGreaterThan(
      ledger
        .filter((entry) => entry.kind !== 'sandbox')
        .reduce((sum, entry) => sum + micros(entry.costUsd), 0),
    );
    expect(totals?.llmCalls).toBe(ledger.length - jobs.length);
    // Every reservation was settled: nothing of the run's budget is still held.
    expect((await stack.store.getBudget(run.runId))?.reservedUsd).toBe(0);
  }, 90_000);

  it('detects `npm test` from package.json when factory.yml declares no environment, and runs it before submitting', async () => {
    const box = await sandbox(stack, 'sandbox-detected');
    const run = await startScenario(stack, box, sampleScript);
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('SUCCEEDED');
    const events = await eventsOf(stack, run.runId);
    const detected = events.filter((e) => e.type === 'sandbox.checks-detected');
    expect(detected).toHaveLength(1);
    expect(detected[0]?.data).toMatchObject({ setup: [], checks: ['npm test'], from: ['package.json'] });
    expect(events.map((e) => e.type)).toContain('sandbox.checks-passed');
  }, 90_000);

  it('runs environment.setup once before the checks, lays its output under them and caches it in the bucket', async () => {
    const yml = [
      'version: 1',
      'environment:',
      '  setup:',
      `    - mkdir -p node_modules/answer && echo 'module.exports = 42;' > node_modules/answer/index.js`,
      '  checks:',
      `    - node -e "require('assert').equal(require('answer'), 42)"`,
      '    - node --test',
      '',
    ].join('\n');
    const box = await sandbox(stack, 'sandbox-setup', { files: { '.github/factory.yml': yml } });
    const run = await startScenario(stack, box, sampleScript);
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('SUCCEEDED');
    const types = (await eventsOf(stack, run.runId)).map((e) => e.type);
    expect(types).toContain('sandbox.checks-passed');
    expect(types).not.toContain('sandbox.checks-unverified');

    const s3 = new S3Client({
      endpoint: stack.endpoints.s3,
      region: LOCAL_REGION,
      forcePathStyle: true,
      credentials: FAKE_CREDENTIALS,
    });
    const listed = await s3.send(
      new ListObjectsV2Command({
        Bucket: WORKSPACE_BUCKET,
        Prefix: `setup-cache/${box.full.toLowerCase()}/`,
      }),
    );
    s3.destroy();
    expect(listed.Contents ?? []).toHaveLength(1);
  }, 90_000);

  it('fixes a change that fails environment.checks inside implement: the first pushed commit passes CI', async () => {
    const box = await sandbox(stack, 'sandbox-fix', { files: { '.github/factory.yml': CHECKS_YML } });
    const run = await startScenario(stack, box, checksThenFixedScenario);
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.fixAttempts).toBe(0);

    const events = await eventsOf(stack, run.runId);
    const localFailures = events.filter((e) => e.type === 'sandbox.checks-failed');
    expect(localFailures).toHaveLength(1);
    expect(events.filter((e) => e.type === 'checks.failed')).toHaveLength(0);
    const commits = await pullCommits(stack, box, done.prNumber as number);
    expect(commits).toHaveLength(1);
    const checkRuns = await forgeGet(stack, `/repos/${box.full}/commits/${commits[0]?.sha}/check-runs`);
    expect(checkRuns.check_runs.map((c: { conclusion: string }) => c.conclusion)).toEqual(['success']);
    expect(await fileAt(stack, box, 'src/slugify.js')).toBe(SLUGIFY_SOURCE);

    // The model saw why: the refused submission carried node's failing test output.
    const refused = (await toolResults(run.runId)).find(
      (r) => r.name === 'submit_change' && r.result.includes('environment.checks failed'),
    );
    expect(refused?.result).toMatch(/exit_code: 1/);
    expect(refused?.result).toMatch(/not ok/);
  }, 90_000);

  it('stops the run when the checks keep failing, its work kept on a draft PR with a note', async () => {
    const box = await sandbox(stack, 'sandbox-stop', { files: { '.github/factory.yml': CHECKS_YML } });
    const run = await startScenario(stack, box, sameFailureTwiceScenario);
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('STOPPED');
    expect(done.error?.class).toBe('ChecksFailing');
    expect(done.error?.cause).toMatch(/node --test/);
    const events = await eventsOf(stack, run.runId);
    const failures = events.filter((e) => e.type === 'sandbox.checks-failed');
    // The default contract allows 2 failing rounds back to the model; the third stops the run.
    expect(failures).toHaveLength(3);

    // The failing change is not lost: it is on the run's branch, as a draft, with the failure.
    expect(done.prNumber).toBeDefined();
    const pull = await pullOf(stack, box, done.prNumber as number);
    expect(pull.draft).toBe(true);
    expect(pull.state).toBe('open');
    expect(pull.body).toContain('**Code Factory stopped before finishing**');
    expect(pull.body).toContain('ChecksFailing');
    expect(pull.body).toMatch(/not ok/);
    expect(pull.body).toContain('- Make `environment.checks` pass');
    expect(pull.body).toMatch(/src\/slugify\.js +\| \+\d+ -0 \(new\)/);
    expect(await fileAt(stack, box, 'src/slugify.js', done.branch)).toBe(SLUGIFY_BUGGY_SOURCE);
    expect(events.find((e) => e.type === 'work.kept')?.data).toMatchObject({ pushed: true, files: 3 });
    expect(events.map((e) => e.type)).not.toContain('change.published');
    const comment = (await issueComments(stack, box)).find((c) => c.body.includes(run.runId));
    expect(comment?.body).toContain('Its work so far is on the draft pull request');
  }, 90_000);

  it.skipIf(!isolation.isolated)(
    `shows a command none of the factory’s secrets or data, reaches no emulator, and times out a slow command${isolation.isolated ? '' : ` (skipped: ${isolation.reason})`}`,
    async () => {
      const box = await sandbox(stack, 'sandbox-env');
      const sample = createSampleModel();
      // The stack's data dir (secrets, tables, repositories) and its DynamoDB and Step Functions endpoints.
      const endpoints = [stack.endpoints.dynamodb, stack.endpoints.stepfunctions];
      const reachCommand =
        `ls ${stack.dataDir} 2>&1; cat ${stack.dataDir}/secrets/secrets.json 2>&1; ` +
        `node -e 'for (const url of ${JSON.stringify(endpoints)}) fetch(url).then(` +
        `(r) => console.log("REACHED", url, r.status), (e) => console.log("unreachable", url, e.cause?.code ?? e.message))'`;
      const probe: Script = (request, ctx) => {
        if (ctx.stage !== 'implement') return sample(request, ctx);
        if (ctx.turn === 0)
          return {
            content: [
              {
                type: 'tool_use',
                name: 'run',
                input: { command: 'env; cat /proc/1/environ 2>&1 | tr "\\0" "\\n"' },
              },
              {
                type: 'tool_use',
                name: 'run',
                input: { command: 'echo started; sleep 30', timeout_seconds: 2 },
              },
              { type: 'tool_use', name: 'run', input: { command: reachCommand } },
            ],
          };
        return {
          content: [
            {
              type: 'tool_use',
              ...submission(ctx, { status: 'BLOCKED', summary: 'probe done', blockers: ['probe'] }, {}),
            },
          ],
        };
      };
      const run = await startScenario(stack, box, probe);
      const done = await finished(stack, run.runId);
      expect(done.status).toBe('BLOCKED');

      const [env, slow, reach] = (await toolResults(run.runId)).filter((r) => r.name === 'run');
      expect(reach?.result).not.toContain('REACHED');
      expect(reach?.result.match(/unreachable/g)).toHaveLength(2);
      expect(reach?.result).toMatch(/No such file or directory/);
      expect(env?.result).toMatch(/^exit_code: 0\n/);
      expect(env?.result).toContain('PATH=');
      for (const secret of [stack.webhookSecret, stack.forge.botToken, stack.apiKey]) {
        expect(secret?.length).toBeGreaterThan(16);
        expect(env?.result).not.toContain(secret);
      }
      // The local stack's AWS keys are short fixed words; their variables must not be there at all.
      expect(env?.result).not.toMatch(new RegExp(`=${FAKE_CREDENTIALS.secretAccessKey}$`, 'm'));
      expect(env?.result).not.toMatch(/AWS_|GITHUB_|ANTHROPIC_|WEBHOOK_SECRET|TABLE_NAME|SECRET_ID/);
      expect(slow?.result).toMatch(/^exit_code: 124 \(timed out after 2 s\)\nstarted/);
    },
    90_000,
  );
});
