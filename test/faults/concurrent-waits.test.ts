import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleScript } from '../../local/model/scripts';
import type { Stack } from '../../local/stack';
import { decideRun, finished, sandbox, startScenario } from '../e2e/pipeline/support';
import { approvalLinks, eventually, startTestStack } from '../support/e2e';
import { historyOf } from './support';

/**
 * Fault suite: the waits are activity tasks on one shared activity, so when several runs reach
 * their CI and approval waits at the same moment, a run's claim may take (and open) another run's
 * wait. Every wait must still be opened exactly once, with its own run's token, and no run may
 * hang or get a second set of approval emails.
 */

const RUNS = 5;
let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('waits reached by several runs at once', () => {
  it('opens each run’s waits exactly once, whichever claim takes them, and every run merges', async () => {
    const boxes = await Promise.all(Array.from({ length: RUNS }, (_, i) => sandbox(stack, `together-${i}`)));
    const runs = await Promise.all(boxes.map((box) => startScenario(stack, box, sampleScript)));

    // Every run comes to wait for approval with its own token stored, once.
    const waits = await Promise.all(
      runs.map((run) =>
        eventually(
          `the approval wait of ${run.runId}`,
          () => stack.store.getWait('approval', run.runId),
          90_000,
        ),
      ),
    );
    expect(new Set(waits.map((w) => w?.taskToken)).size).toBe(RUNS);
    for (const [i, run] of runs.entries()) expect(waits[i]?.runId).toBe(run.runId);

    for (const run of runs) {
      // The opener stores the wait first, then writes the approvals and sends the emails.
      const contract = (await stack.store.getRun(run.runId))?.contract as
        | { approvers?: unknown[] }
        | undefined;
      const approvers = contract?.approvers?.length || 1; // none in factory.yml: DEFAULT_APPROVERS (alice)
      const approvals = await eventually(`the approvals of ${run.runId}`, async () => {
        const found = await stack.store.listApprovalsForRun(run.runId);
        return found.length >= approvers ? found : undefined;
      });
      // One approval per approver, none superseded by a second opening.
      expect(approvals.length, run.runId).toBe(approvers);
      expect(approvals.every((a) => a.state === 'PENDING')).toBe(true);
      expect(new Set(approvals.map((a) => a.approver)).size).toBe(approvals.length);
      // Approve and reject links, once per approval, once the opener has sent the emails.
      const linksOf = async () =>
        (await approvalLinks(stack)).filter((link) =>
          approvals.some((a) => link.includes(`/approvals/${a.approvalId}?`)),
        );
      await eventually(`the emails of ${run.runId}`, async () =>
        (await linksOf()).length >= approvals.length * 2 ? true : undefined,
      );
      expect(await linksOf()).toHaveLength(approvals.length * 2);
    }

    // Each wait was opened once: the claims' `opened` counts add up to two waits (checks,
    // approval) per run, whichever claims opened them.
    const claimsOf = async () => {
      const claims = { opened: 0, finished: 0, histories: [] as Awaited<ReturnType<typeof historyOf>>[] };
      for (const run of runs) {
        const history = await historyOf(stack.sfn, stack.stateMachineArn, run.runId);
        claims.histories.push(history);
        for (const event of history) {
          const output = event.type === 'TaskSucceeded' ? event.taskSucceededEventDetails?.output : undefined;
          const opened = output
            ? (JSON.parse(output) as { Payload?: { opened?: number } }).Payload?.opened
            : undefined;
          if (typeof opened !== 'number') continue;
          claims.opened += opened;
          claims.finished += 1;
        }
      }
      return claims;
    };
    const claims = await eventually('every claim to finish', async () => {
      const seen = await claimsOf();
      return seen.finished >= 2 * RUNS ? seen : undefined;
    });
    expect(claims.finished).toBe(2 * RUNS);
    expect(claims.opened).toBe(2 * RUNS);
    for (const [i, run] of runs.entries()) {
      const history = claims.histories[i] ?? [];
      // Checks and approval were scheduled as waits (the other activity tasks are LLM turns), and
      // every activity task was taken by a worker.
      const scheduled = history.filter((e) => e.type === 'ActivityScheduled');
      const waitsScheduled = scheduled.filter((e) =>
        e.activityScheduledEventDetails?.input?.includes('"waitId"'),
      );
      expect(waitsScheduled.length, run.runId).toBe(2);
      expect(history.filter((e) => e.type === 'ActivityStarted').length, run.runId).toBe(scheduled.length);
      for (const wait of waits) expect(JSON.stringify(history)).not.toContain(wait?.taskToken);
    }

    for (const run of runs) expect(await decideRun(stack, run.runId, 'approve')).toBeLessThan(400);
    const ended = await Promise.all(runs.map((run) => finished(stack, run.runId)));
    expect(ended.map((run) => run.status)).toEqual(Array(RUNS).fill('SUCCEEDED'));
  }, 240_000);
});
