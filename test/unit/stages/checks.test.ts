import { describe, expect, it } from 'vitest';
import { Run as RunSchema } from '../../../functions/shared/domain/run';
import type { CheckSummary, GitHub } from '../../../functions/shared/ports';
import { repoOf } from '../../../functions/shared/run-contract';
import { decideAfterChecks, waitForChecks } from '../../../functions/stages/checks';
import type { StagePorts } from '../../../functions/stages/deps';
import { FakeStore } from '../../support/fake-store';
import { MemoryBlobs } from '../../support/memory-blobs';
import { MutableClock, RecordingWorkflow, runContract, silentLog } from '../approvals/support';

const RUN_ID = '01J00000000000000000000000';
const HEAD = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const WAIT_KEY = `acme/widgets@${HEAD}`;
const CHECKS_SECONDS = 1800;

const pending: CheckSummary = { state: 'pending', runs: [{ name: 'test', status: 'in_progress', id: 41 }] };
const failed = (log: string): CheckSummary => ({
  state: 'failure',
  runs: [{ name: 'test', status: 'completed', conclusion: 'failure', id: 41, log }],
});

async function setUp() {
  const store = new FakeStore();
  const clock = new MutableClock(Date.now());
  const workflow = new RecordingWorkflow();
  const blobs = new MemoryBlobs();
  let checks: CheckSummary = pending;
  await store.createRun(
    RunSchema.parse({
      runId: RUN_ID,
      kind: 'change',
      repo: 'acme/widgets',
      workItemKey: 'acme/widgets#1',
      status: 'VERIFYING',
      stage: 'publish',
      stages: [{ name: 'publish', status: 'RUNNING', startedAt: new Date(clock.now()).toISOString() }],
      version: 0,
      createdAt: '2025-03-01T11:00:00.000Z',
      updatedAt: '2025-03-01T11:00:00.000Z',
      trigger: { source: 'label', sender: 'alice' },
      issueNumber: 1,
      headSha: HEAD,
      contract: runContract({
        maxFixAttempts: 3,
        timeouts: {
          llmTurnSeconds: 900,
          clarifySeconds: 3600,
          checksSeconds: CHECKS_SECONDS,
          checksRecheckSeconds: 300,
          approvalSeconds: 3600,
        },
      }),
    }),
  );
  const deps = {
    store,
    github: { getChecks: async () => checks } as unknown as GitHub,
    blobs,
    workflow,
    clock,
    log: silentLog,
    now: () => new Date(clock.now()).toISOString(),
    repoOf,
    contractOf: (run: { contract?: unknown }) => run.contract,
  } as unknown as StagePorts;
  const setChecks = (next: CheckSummary) => {
    checks = next;
  };
  return { store, clock, workflow, blobs, deps, setChecks };
}

describe('the checks wait', () => {
  it('re-reads CI when nobody answered, and goes on when its completion webhook was lost', async () => {
    const { store, clock, workflow, deps, setChecks } = await setUp();
    await waitForChecks(deps, RUN_ID, 'token-1');
    expect(workflow.calls).toBe(0);
    expect((await store.getWait('checks', WAIT_KEY))?.taskToken).toBe('token-1');

    // CI finished; its check_suite delivery never came. The heartbeat timeout runs the stage again.
    clock.advance(300_000);
    setChecks({ state: 'success', runs: [{ name: 'test', status: 'completed', conclusion: 'success' }] });
    await waitForChecks(deps, RUN_ID, 'token-2');
    expect(workflow.successes).toEqual([{ token: 'token-2', output: { sha: HEAD, conclusion: 'success' } }]);
    expect(await store.getWait('checks', WAIT_KEY)).toBeUndefined();
    const reread = store.events.get(RUN_ID)?.find((e) => e.type === 'checks.reread');
    expect(reread?.data).toEqual({ headSha: HEAD, state: 'success', waitedSeconds: 300 });
    // One checks stage on the timeline, however many times the wait was entered.
    expect(store.runs.get(RUN_ID)?.stages.filter((s) => s.name === 'checks')).toHaveLength(1);
  });

  it('ends ChecksTimedOut once the wait has lasted checksSeconds, counted from its start', async () => {
    const { clock, workflow, deps } = await setUp();
    await waitForChecks(deps, RUN_ID, 'token-1');
    for (let i = 2; i <= 6; i++) {
      clock.advance(300_000);
      await waitForChecks(deps, RUN_ID, `token-${i}`);
    }
    expect(workflow.calls).toBe(0);
    clock.advance(300_000);
    await waitForChecks(deps, RUN_ID, 'token-7');
    expect(workflow.failures).toEqual([
      { token: 'token-7', error: 'ChecksTimedOut', cause: expect.stringContaining('1800 s') },
    ]);
  });

  it('keeps the failed job log by reference and points the feedback at it', async () => {
    const { store, blobs, deps, setChecks } = await setUp();
    await waitForChecks(deps, RUN_ID, 'token-1');
    const log = "2025-03-01T12:00:00.0000000Z not ok 1 - adds\n  ---\n  error: '1 !== 2'\n  ...\n";
    setChecks(failed(log));
    expect(await decideAfterChecks(deps, RUN_ID)).toEqual({ outcome: 'fix' });
    const key = `ci-logs/${RUN_ID}/${HEAD}/test-41.log`;
    expect(new TextDecoder().decode(blobs.objects.get(key))).toBe(log);
    const run = store.runs.get(RUN_ID);
    expect(run?.feedback?.logKeys).toEqual([key]);
    expect(run?.feedback?.text).toMatch(
      /^Root cause:\n1 failure extracted from the CI log:\n1\. \[tap\] adds\n {3}1 !== 2/,
    );
    const event = store.events.get(RUN_ID)?.find((e) => e.type === 'checks.failed');
    expect(event?.data?.logs).toEqual([{ check: 'test', key, chars: log.length }]);
    // The run item holds the key, never the log.
    expect(JSON.stringify(run)).not.toContain('2025-03-01T12:00:00.0000000Z');
  });
});
