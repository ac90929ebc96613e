import { describe, expect, it } from 'vitest';
import type { PendingWait } from '../../../functions/shared/ports';
import {
  checkSuitePayload,
  commentPayload,
  labeledPayload,
  makeWebhook,
  parseBody,
  signedEvent,
  workflowRunPayload,
} from './helpers';

describe('exactly-once starts', () => {
  it('50 concurrent copies of one delivery → exactly one startRun with one run id', async () => {
    const { invoke, store, workflow } = makeWebhook();
    const event = await signedEvent('issues', labeledPayload('alice'), { deliveryId: 'dup-50' });
    const responses = await Promise.all(Array.from({ length: 50 }, () => invoke(structuredClone(event))));
    expect(responses.every((r) => r.statusCode >= 200 && r.statusCode < 300)).toBe(true);
    expect(workflow.starts).toHaveLength(1);
    expect(store.runs.size).toBe(1);
    const runId = workflow.starts[0]?.runId;
    const answered = responses.map((r) => parseBody(r).data?.runId).filter(Boolean);
    expect(new Set(answered)).toEqual(new Set([runId]));
    expect(store.delivery('dup-50')).toMatchObject({ state: 'STARTED', runId });

    // Redelivered days later: the stored answer, no new run.
    const later = await invoke(structuredClone(event));
    expect(later.statusCode).toBe(200);
    expect(parseBody(later).data).toMatchObject({ status: 'duplicate', state: 'STARTED', runId });
    expect(workflow.starts).toHaveLength(1);
  });

  it('a crash between record and start: the redelivery starts the SAME run id exactly once', async () => {
    const { invoke, store, workflow, clock } = makeWebhook();
    const event = await signedEvent('issues', labeledPayload('alice'), { deliveryId: 'crash-1' });
    workflow.failNextStart = new Error('StartExecution: connection reset');
    const crashed = await invoke(structuredClone(event));
    expect(crashed.statusCode).toBe(500);
    expect(parseBody(crashed).error?.code).toBe('InternalError');
    const recorded = store.delivery('crash-1');
    expect(recorded?.state).toBe('RECORDED');
    const runId = recorded?.runId;
    expect(runId).toBeTruthy();

    // An immediate duplicate assumes the first copy is still working.
    const early = await invoke(structuredClone(event));
    expect(parseBody(early).data).toMatchObject({ status: 'in_progress', runId });

    clock.advance(60_000);
    const [a, b] = await Promise.all([invoke(structuredClone(event)), invoke(structuredClone(event))]);
    const statuses = [parseBody(a).data?.status, parseBody(b).data?.status].sort();
    expect(statuses).toContain('started');
    expect(store.runs.size).toBe(1);
    expect(store.runs.has(runId!)).toBe(true);
    expect(workflow.executions).toEqual(new Set([runId]));
    expect(store.events.get(runId!)?.filter((e) => e.type === 'run.created')).toHaveLength(1);
    expect(store.delivery('crash-1')).toMatchObject({ state: 'STARTED', runId });
  });

  it('two different deliveries for one issue (label + comment), concurrently → one run', async () => {
    const { invoke, store, workflow } = makeWebhook();
    const label = await signedEvent('issues', labeledPayload('alice'));
    const comment = await signedEvent('issue_comment', commentPayload('bob', '/factory run'));
    const results = await Promise.all([invoke(label), invoke(comment)]);
    const statuses = results.map((r) => parseBody(r).data?.status).sort();
    expect(statuses).toEqual(['refused', 'started']);
    expect(workflow.starts).toHaveLength(1);
    expect(store.runs.size).toBe(1);
    const refused = [...store.deliveries.values()].find((d) => d.record.state === 'REFUSED');
    expect(refused?.record.reason).toMatch(/run .* (is still QUEUED|was started concurrently)/);
  });
});

describe('resumes', () => {
  const wait = (
    kind: PendingWait['kind'],
    key: string,
    token: string,
    runId = '01JABCDEFGHJKMNPQRSTVWXYZ0',
  ): PendingWait => ({
    kind,
    key,
    runId,
    taskToken: token,
    createdAt: '2025-03-01T00:00:00Z',
    expiresAt: Math.floor(Date.parse('2025-04-01T00:00:00Z') / 1000),
  });

  it('a reply by the issue author resumes the clarify wait exactly once, passing a pointer', async () => {
    const { invoke, store, workflow } = makeWebhook();
    await store.putWait(wait('clarify', 'acme/widgets#1', 'token-clarify'));
    workflow.liveTokens.add('token-clarify');
    // The author is a read-only user here: being the author is enough.
    const replies = await Promise.all(
      Array.from({ length: 20 }, async (_, i) =>
        invoke(
          await signedEvent(
            'issue_comment',
            commentPayload('mallory', `answer ${i}`, { author: 'mallory', commentId: 100 + i }),
          ),
        ),
      ),
    );
    expect(replies.every((r) => r.statusCode < 300)).toBe(true);
    expect(workflow.successes).toHaveLength(1);
    const output = workflow.successes[0]?.output as { answer: { commentId: number; author: string } };
    expect(output.answer.author).toBe('mallory');
    expect(output.answer.commentId).toBeGreaterThanOrEqual(100);
    expect(JSON.stringify(output)).not.toContain('answer 1'); // a pointer, never the text
    expect(replies.filter((r) => parseBody(r).data?.status === 'resumed')).toHaveLength(1);
    expect(await store.getWait('clarify', 'acme/widgets#1')).toBeUndefined();
  });

  it('replies by strangers and bots do not resume; a writer who is not the author does', async () => {
    const { invoke, store, workflow } = makeWebhook();
    await store.putWait(wait('clarify', 'acme/widgets#1', 'token-2'));
    workflow.liveTokens.add('token-2');
    await invoke(await signedEvent('issue_comment', commentPayload('mallory', 'me!', { author: 'alice' })));
    await invoke(await signedEvent('issue_comment', commentPayload('code-factory[bot]', 'Questions: …')));
    expect(workflow.successes).toHaveLength(0);
    expect(await store.getWait('clarify', 'acme/widgets#1')).toBeDefined();
    const bob = await invoke(
      await signedEvent('issue_comment', commentPayload('bob', 'use metres', { author: 'alice' })),
    );
    expect(parseBody(bob).data).toMatchObject({ status: 'resumed' });
    expect(workflow.successes).toHaveLength(1);
  });

  it('a failed SendTaskSuccess gives the wait back for the next attempt', async () => {
    const { invoke, store, workflow } = makeWebhook();
    await store.putWait(wait('clarify', 'acme/widgets#1', 'token-3'));
    workflow.liveTokens.add('token-3');
    const original = workflow.sendTaskSuccess.bind(workflow);
    workflow.sendTaskSuccess = async () => {
      throw new Error('throttled');
    };
    const failed = await invoke(await signedEvent('issue_comment', commentPayload('alice', 'answer')));
    expect(failed.statusCode).toBe(500);
    expect(await store.getWait('clarify', 'acme/widgets#1')).toBeDefined();
    workflow.sendTaskSuccess = original;
    const retried = await invoke(await signedEvent('issue_comment', commentPayload('alice', 'answer again')));
    expect(parseBody(retried).data).toMatchObject({ status: 'resumed' });
  });

  it('check_suite and workflow_run completed resume the checks wait for their SHA, once', async () => {
    const { invoke, store, workflow } = makeWebhook();
    const sha = 'a'.repeat(40);
    await store.putWait(wait('checks', `acme/widgets@${sha}`, 'token-checks'));
    workflow.liveTokens.add('token-checks');
    const suite = await signedEvent('check_suite', checkSuitePayload(sha, 'success'));
    const run = await signedEvent('workflow_run', workflowRunPayload(sha, 'success'));
    const results = await Promise.all([invoke(suite), invoke(run), invoke(structuredClone(suite))]);
    expect(results.every((r) => r.statusCode < 300)).toBe(true);
    expect(workflow.successes).toEqual([{ token: 'token-checks', output: { sha, conclusion: 'success' } }]);

    const other = await invoke(await signedEvent('check_suite', checkSuitePayload('b'.repeat(40))));
    expect(parseBody(other).data).toMatchObject({ status: 'ignored' });
  });

  it('events for SHAs and issues nobody waits on write nothing', async () => {
    const { invoke, store } = makeWebhook();
    await invoke(await signedEvent('check_suite', checkSuitePayload('c'.repeat(40))));
    await invoke(await signedEvent('issue_comment', commentPayload('alice', 'just chatting')));
    expect(store.writes).toEqual([]);
  });
});
