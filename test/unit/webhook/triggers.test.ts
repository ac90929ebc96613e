import { describe, expect, it } from 'vitest';
import { triggerLabelCacheKey } from '../../../functions/shared/trigger-label';
import { commentPayload, labeledPayload, makeWebhook, parseBody, signedEvent } from './helpers';

describe('start triggers', () => {
  it('alice labelling issue #1 `factory` starts one QUEUED run with its WorkItem and audit event', async () => {
    const { invoke, store, workflow } = makeWebhook();
    const event = await signedEvent('issues', labeledPayload('alice'), { deliveryId: 'delivery-alice-1' });
    const response = await invoke(event);
    expect(response.statusCode).toBe(202);
    const data = parseBody(response).data as { status: string; runId: string };
    expect(data.status).toBe('started');
    const run = store.runs.get(data.runId);
    expect(run).toMatchObject({
      status: 'QUEUED',
      kind: 'change',
      repo: 'acme/widgets',
      issueNumber: 1,
      workItemKey: 'acme/widgets#1',
      trigger: { source: 'label', sender: 'alice', deliveryId: 'delivery-alice-1', command: 'label:factory' },
      issueTitle: 'Add a clamp() helper',
    });
    expect(store.workItems.get('acme/widgets#1')?.latestRunId).toBe(data.runId);
    expect(workflow.starts).toEqual([{ runId: data.runId, input: { runId: data.runId } }]);
    expect(store.events.get(data.runId)?.map((e) => [e.type, e.actor])).toEqual([['run.created', 'alice']]);
    expect(store.delivery('delivery-alice-1')).toMatchObject({ state: 'STARTED', runId: data.runId });
  });

  it('one work item per issue whatever case the payload spells the repository in', async () => {
    const { invoke, store, workflow } = makeWebhook();
    const first = await invoke(
      await signedEvent('issues', labeledPayload('alice'), { deliveryId: 'case-1' }),
    );
    expect(parseBody(first).data).toMatchObject({ status: 'started' });
    const shouted = labeledPayload('alice');
    const renamed = { ...shouted, repository: { ...shouted.repository, full_name: 'ACME/Widgets' } };
    const second = await invoke(await signedEvent('issues', renamed, { deliveryId: 'case-2' }));
    expect(parseBody(second).data).not.toMatchObject({ status: 'started' });
    expect(store.runs.size).toBe(1);
    expect(workflow.starts).toHaveLength(1);
    expect([...store.workItems.keys()]).toEqual(['acme/widgets#1']);
  });

  it('mallory (read) labelling → no run, reason recorded, one explanatory comment per issue', async () => {
    const { invoke, store, workflow, github } = makeWebhook();
    const first = await invoke(await signedEvent('issues', labeledPayload('mallory'), { deliveryId: 'm-1' }));
    expect(first.statusCode).toBe(200);
    expect(parseBody(first).data).toMatchObject({ status: 'refused' });
    expect(store.delivery('m-1')).toMatchObject({ state: 'REFUSED' });
    expect(store.delivery('m-1')?.reason).toMatch(/mallory has read permission/);
    await invoke(await signedEvent('issues', labeledPayload('mallory'), { deliveryId: 'm-2' }));
    expect(store.runs.size).toBe(0);
    expect(workflow.starts).toEqual([]);
    expect(github.comments).toHaveLength(1);
    expect(github.comments[0]?.body).toMatch(/write access/);
  });

  it('bots and the factory itself never start runs, and cost no GitHub call', async () => {
    const { invoke, store, workflow, github } = makeWebhook();
    const senders: Array<[string, string]> = [
      ['dependabot[bot]', 'Bot'],
      ['renovate', 'Bot'],
      ['code-factory[bot]', 'Bot'],
      ['code-factory', 'User'],
    ];
    for (const [login, type] of senders) {
      const response = await invoke(await signedEvent('issues', labeledPayload(login, 'factory', 1, type)));
      expect(parseBody(response).data).toMatchObject({ status: 'refused' });
    }
    const comment = await invoke(
      await signedEvent('issue_comment', commentPayload('ci[bot]', '/factory run')),
    );
    expect(parseBody(comment).data).toMatchObject({ status: 'refused' });
    expect(workflow.starts).toEqual([]);
    expect(github.permissionCalls).toEqual([]);
    expect(github.comments).toEqual([]);
    expect([...store.deliveries.values()].every((d) => d.record.state === 'REFUSED')).toBe(true);
  });

  it('ignores other labels without writing; honours a configured label cached by the pipeline', async () => {
    const { invoke, store, workflow } = makeWebhook();
    const other = await invoke(await signedEvent('issues', labeledPayload('alice', 'bug')));
    expect(parseBody(other).data).toMatchObject({ status: 'ignored' });
    expect(store.writes).toEqual([]);

    const configured = makeWebhook();
    await configured.store.cachePut(triggerLabelCacheKey('acme/widgets'), 'ai-please', 3600);
    const defaultLabel = await configured.invoke(
      await signedEvent('issues', labeledPayload('alice', 'factory')),
    );
    expect(parseBody(defaultLabel).data).toMatchObject({ status: 'ignored' });
    const custom = await configured.invoke(await signedEvent('issues', labeledPayload('alice', 'AI-please')));
    expect(parseBody(custom).data).toMatchObject({ status: 'started' });
    expect(configured.workflow.starts).toHaveLength(1);
    expect(workflow.starts).toHaveLength(0);
  });

  it('caches the sender permission (one GitHub call for several triggers)', async () => {
    const { invoke, github } = makeWebhook();
    for (const issueNumber of [1, 2, 3]) {
      await invoke(await signedEvent('issues', labeledPayload('bob', 'factory', issueNumber)));
    }
    expect(github.permissionCalls).toEqual(['acme/widgets:bob']);
  });
});

describe('comment commands', () => {
  it('`/factory run` by a writer starts a change run; `/factory retry` after it ended starts another', async () => {
    const { invoke, store } = makeWebhook();
    const run = await invoke(
      await signedEvent('issue_comment', commentPayload('bob', 'Looks good.\n\n  /Factory   RUN  ')),
    );
    const first = parseBody(run).data as { status: string; runId: string };
    expect(first.status).toBe('started');
    expect(store.runs.get(first.runId)?.trigger).toMatchObject({
      source: 'comment',
      command: 'run',
      sender: 'bob',
    });

    const whileActive = await invoke(
      await signedEvent('issue_comment', commentPayload('alice', '/factory retry')),
    );
    expect(parseBody(whileActive).data).toMatchObject({ status: 'refused', activeRunId: first.runId });

    const stored = store.runs.get(first.runId)!;
    store.runs.set(first.runId, { ...stored, status: 'FAILED' });
    const retry = await invoke(await signedEvent('issue_comment', commentPayload('alice', '/factory retry')));
    const second = parseBody(retry).data as { status: string; runId: string };
    expect(second.status).toBe('started');
    expect(second.runId).not.toBe(first.runId);
    expect(store.runs.get(second.runId)?.trigger.source).toBe('retry');
    expect(store.workItems.get('acme/widgets#1')?.latestRunId).toBe(second.runId);
  });

  it('review and rescue start on pull requests and are refused on plain issues', async () => {
    const { invoke, store, github } = makeWebhook();
    const onIssue = await invoke(
      await signedEvent('issue_comment', commentPayload('alice', '/factory review')),
    );
    expect(parseBody(onIssue).data).toMatchObject({ status: 'refused' });
    expect(github.comments.at(-1)?.body).toMatch(/pull requests only/);
    const review = await invoke(
      await signedEvent(
        'issue_comment',
        commentPayload('alice', '/factory review', { pull: true, issueNumber: 7 }),
      ),
    );
    const data = parseBody(review).data as { runId: string };
    expect(store.runs.get(data.runId)?.kind).toBe('review');
    const rescue = await invoke(
      await signedEvent(
        'issue_comment',
        commentPayload('alice', '/factory rescue', { pull: true, issueNumber: 8 }),
      ),
    );
    expect(store.runs.get((parseBody(rescue).data as { runId: string }).runId)?.kind).toBe('rescue');
  });

  it('on a pull request, /factory help answers with the commands and /factory retry repeats the review', async () => {
    const { invoke, store, workflow, github } = makeWebhook();
    const help = await invoke(
      await signedEvent(
        'issue_comment',
        commentPayload('bob', '/factory help', { pull: true, issueNumber: 7 }),
        {
          deliveryId: 'pr-help',
        },
      ),
    );
    expect(parseBody(help).data).toMatchObject({ status: 'ignored', reason: 'help asked' });
    expect(github.comments.at(-1)?.body).toContain('/factory review');
    expect(github.comments.at(-1)?.body).toContain('/factory help');
    expect(workflow.starts).toEqual([]);

    // Nothing was reviewed on #7 yet: retry starts nothing (never a change run from a PR).
    const early = await invoke(
      await signedEvent(
        'issue_comment',
        commentPayload('alice', '/factory retry', { pull: true, issueNumber: 7 }),
        {
          deliveryId: 'pr-retry-1',
        },
      ),
    );
    expect(parseBody(early).data).toMatchObject({ status: 'refused' });
    expect(github.comments.at(-1)?.body).toContain('`/factory review`');
    expect(store.runs.size).toBe(0);

    const review = await invoke(
      await signedEvent(
        'issue_comment',
        commentPayload('alice', '/factory review', { pull: true, issueNumber: 7 }),
        {
          deliveryId: 'pr-review',
        },
      ),
    );
    const first = parseBody(review).data as { runId: string };
    const stored = store.runs.get(first.runId)!;
    store.runs.set(first.runId, { ...stored, status: 'FAILED' });
    const retry = await invoke(
      await signedEvent(
        'issue_comment',
        commentPayload('alice', '/factory retry', { pull: true, issueNumber: 7 }),
        {
          deliveryId: 'pr-retry-2',
        },
      ),
    );
    const again = parseBody(retry).data as { status: string; runId: string };
    expect(again.status).toBe('started');
    expect(store.runs.get(again.runId)).toMatchObject({ kind: 'review', trigger: { source: 'retry' } });

    // On a PR where a rescue ran last, retry rescues again.
    const rescue = parseBody(
      await invoke(
        await signedEvent(
          'issue_comment',
          commentPayload('alice', '/factory rescue', { pull: true, issueNumber: 8 }),
          {
            deliveryId: 'pr-rescue',
          },
        ),
      ),
    ).data as { runId: string };
    const rescued = store.runs.get(rescue.runId)!;
    store.runs.set(rescue.runId, { ...rescued, status: 'FAILED' });
    const retried = parseBody(
      await invoke(
        await signedEvent(
          'issue_comment',
          commentPayload('alice', '/factory retry', { pull: true, issueNumber: 8 }),
          {
            deliveryId: 'pr-retry-3',
          },
        ),
      ),
    ).data as { runId: string };
    expect(store.runs.get(retried.runId)).toMatchObject({ kind: 'rescue', trigger: { source: 'retry' } });
  });

  it('an unknown command gets one help reply listing the commands', async () => {
    const { invoke, store, workflow, github } = makeWebhook();
    const event = await signedEvent('issue_comment', commentPayload('bob', '/factory deploy-to-prod'));
    const response = await invoke(event);
    expect(parseBody(response).data).toMatchObject({ status: 'ignored' });
    await invoke(event); // GitHub redelivers: no second reply
    expect(github.comments).toHaveLength(1);
    for (const command of ['run', 'retry', 'review', 'rescue', 'cancel']) {
      expect(github.comments[0]?.body).toContain(`/factory ${command}`);
    }
    expect(workflow.starts).toEqual([]);
    expect(store.runs.size).toBe(0);
  });

  it('answers unknown commands only from people who may steer runs (no bot comments on demand)', async () => {
    const { invoke, store, github } = makeWebhook();
    for (const body of ['/factory frobnicate', '/factory', '/factory frobnicate again']) {
      const response = await invoke(await signedEvent('issue_comment', commentPayload('mallory', body)));
      expect(response.statusCode).toBe(200);
      expect(parseBody(response).data).toMatchObject({ status: 'ignored' });
    }
    expect(github.comments).toEqual([]);
    expect(store.runs.size).toBe(0);
  });

  it('a redelivered refused trigger does not point at the run its claim reserved', async () => {
    const { invoke, store } = makeWebhook();
    const event = await signedEvent('issues', labeledPayload('mallory'), { deliveryId: 'refused-twice' });
    await invoke(event);
    const again = parseBody(await invoke(event)).data as Record<string, unknown>;
    expect(again).toMatchObject({ status: 'duplicate', state: 'REFUSED' });
    expect(again.runId).toBeUndefined();
    expect(store.runs.size).toBe(0);
  });

  it('ignores edited comments, quoted commands and commands inside code blocks', async () => {
    const { invoke, workflow } = makeWebhook();
    const bodies = ['> /factory run\nquoting the above', '```\n/factory run\n```', 'please /factory run'];
    for (const body of bodies)
      await invoke(await signedEvent('issue_comment', commentPayload('alice', body)));
    await invoke(
      await signedEvent('issue_comment', commentPayload('alice', '/factory run', { action: 'edited' })),
    );
    expect(workflow.starts).toEqual([]);
  });

  it('`/factory cancel` stops the active run and marks it CANCELLED', async () => {
    const { invoke, store, workflow } = makeWebhook();
    const started = parseBody(await invoke(await signedEvent('issues', labeledPayload('alice')))).data as {
      runId: string;
    };
    const mallory = await invoke(
      await signedEvent('issue_comment', commentPayload('mallory', '/factory cancel')),
    );
    expect(parseBody(mallory).data).toMatchObject({ status: 'refused' });
    expect(workflow.stops).toEqual([]);

    const response = await invoke(
      await signedEvent('issue_comment', commentPayload('bob', '/factory cancel')),
    );
    expect(parseBody(response).data).toMatchObject({ status: 'cancelled', runId: started.runId });
    expect(workflow.stops).toEqual([
      { runId: started.runId, error: 'Cancelled', cause: expect.stringMatching(/bob/) },
    ]);
    expect(store.runs.get(started.runId)?.status).toBe('CANCELLED');
    expect(store.events.get(started.runId)?.map((e) => e.type)).toEqual(['run.created', 'run.cancelled']);

    const again = await invoke(await signedEvent('issue_comment', commentPayload('bob', '/factory cancel')));
    expect(parseBody(again).data).toMatchObject({ status: 'refused', reason: 'no active run to cancel' });
    expect(workflow.stops).toHaveLength(1);
  });
});
