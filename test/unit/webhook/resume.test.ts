import { describe, expect, it } from 'vitest';
import type { PendingWait } from '../../../functions/shared/ports';
import { resumeWait } from '../../../functions/webhook/resume';
import { makeWebhookContext } from './helpers';

const delivery = { id: 'd-1', event: 'issue_comment.created' };
const RUN_ID = '01JABCDEFGHJKMNPQRSTVWXYZ0';
const wait: PendingWait = {
  kind: 'clarify',
  key: 'acme/widgets#1',
  runId: RUN_ID,
  taskToken: 'token-1',
  createdAt: '2025-03-01T00:00:00Z',
  expiresAt: Math.floor(Date.parse('2025-04-01T00:00:00Z') / 1000),
};
const answer = { output: { answer: { commentId: 7, author: 'alice' } } };

async function waiting() {
  const fakes = makeWebhookContext();
  await fakes.store.putWait(wait);
  fakes.workflow.liveTokens.add('token-1');
  return fakes;
}

describe('resumeWait', () => {
  it('takes the wait, answers its token, and records the delivery RESUMED for the run', async () => {
    const { ctx, store, workflow } = await waiting();
    expect(await resumeWait(ctx, delivery, wait, answer)).toEqual({
      status: 200,
      data: { status: 'resumed', runId: RUN_ID },
    });
    expect(workflow.successes).toEqual([{ token: 'token-1', output: answer.output }]);
    expect(await store.getWait('clarify', 'acme/widgets#1')).toBeUndefined();
    expect(store.delivery('d-1')).toMatchObject({ state: 'RESUMED', runId: RUN_ID });
  });

  it('a wait another delivery took is not answered twice', async () => {
    const { ctx, store, workflow } = await waiting();
    await store.takeWait('clarify', 'acme/widgets#1');
    expect((await resumeWait(ctx, delivery, wait, answer)).data).toEqual({
      status: 'ignored',
      reason: 'wait already resumed',
    });
    expect(workflow.successes).toEqual([]);
    expect(store.delivery('d-1')).toMatchObject({ state: 'IGNORED', reason: 'wait already resumed' });
  });

  it('a token Step Functions no longer accepts: IGNORED, and the wait is not given back', async () => {
    const { ctx, store, workflow } = await waiting();
    workflow.liveTokens.clear();
    expect((await resumeWait(ctx, delivery, wait, answer)).data).toEqual({
      status: 'ignored',
      reason: 'task token no longer valid',
    });
    expect(store.delivery('d-1')).toMatchObject({ state: 'IGNORED', reason: 'task token no longer valid' });
    expect(await store.getWait('clarify', 'acme/widgets#1')).toBeUndefined();
  });

  it('a failed answer gives the wait back and leaves the delivery RECORDED for a redelivery', async () => {
    const { ctx, store, workflow } = await waiting();
    workflow.sendTaskSuccess = () => Promise.reject(new Error('ThrottlingException'));
    await expect(resumeWait(ctx, delivery, wait, answer)).rejects.toThrow('ThrottlingException');
    expect(await store.getWait('clarify', 'acme/widgets#1')).toEqual(wait);
    expect(store.delivery('d-1')?.state).toBe('RECORDED');
  });

  it('a duplicate of a resumed delivery gets the stored answer and touches no wait', async () => {
    const { ctx, store } = await waiting();
    await resumeWait(ctx, delivery, wait, answer);
    await store.putWait(wait); // a later wait of the same run
    const calls = store.calls.length;
    expect(await resumeWait(ctx, delivery, wait, answer)).toEqual({
      status: 200,
      data: { status: 'duplicate', state: 'RESUMED', runId: RUN_ID },
    });
    expect(store.calls.slice(calls)).toEqual(['recordDelivery']);
    expect(await store.getWait('clarify', 'acme/widgets#1')).toBeDefined();
  });

  it('an error answer fails the task with its error and cause', async () => {
    const { ctx, workflow } = await waiting();
    await resumeWait(ctx, delivery, wait, { error: 'HeadMoved', cause: 'pushed' });
    expect(workflow.failures).toEqual([{ token: 'token-1', error: 'HeadMoved', cause: 'pushed' }]);
    expect(workflow.successes).toEqual([]);
  });
});
