import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../../functions/shared/store/keys';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/dynamodb';
import { SAMPLE_ISSUE, SAMPLE_LABEL, SAMPLE_OWNER, SAMPLE_REPO } from '../../../local/forge';
import { type Stack, TABLE_NAME } from '../../../local/stack';
import { api, eventually, labelIssue, runsOf, SAMPLE, sleep, startTestStack } from '../../support/e2e';

/**
 * Issue 4 on the embedded stack: the front door through real HTTP and real forge webhooks.
 * 50 concurrent copies of one delivery start one run; a reader's label is refused with its reason
 * recorded; a writer's label starts one run, listed by the REST API; a later redelivery of that
 * delivery starts nothing more.
 */

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary fields of stored items
type Json = any;

describe('webhook ingress on the embedded stack', () => {
  let stack: Stack;
  let documents: DynamoDBDocumentClient;
  let secondIssue: number;

  const deliveryItem = async (deliveryId: string): Promise<Json> =>
    (await documents.send(new GetCommand({ TableName: TABLE_NAME, Key: keys.delivery(deliveryId) }))).Item;

  const runsOfIssue = async (issue: number) =>
    (await runsOf(stack)).filter((run) => run.workItemKey === `${SAMPLE}#${issue}`);

  beforeAll(async () => {
    stack = await startTestStack();
    documents = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: stack.endpoints.dynamodb,
        region: LOCAL_REGION,
        credentials: FAKE_CREDENTIALS,
      }),
    );
    // A second issue for the duplicate storm, so issue #1 stays untouched for the permission checks.
    secondIssue = (
      await stack.forge.actions.createIssue('alice', SAMPLE_OWNER, SAMPLE_REPO, {
        title: 'Add a truncateWords helper',
        body: 'Add `truncateWords(text, n)` in `src/truncate-words.js`.',
      })
    ).number;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('50 concurrent copies of one signed delivery start exactly one run', async () => {
    const deliveryId = randomUUID();
    const body = JSON.stringify({
      action: 'labeled',
      label: { name: SAMPLE_LABEL },
      issue: {
        number: secondIssue,
        title: 'Add a truncateWords helper',
        state: 'open',
        user: { login: 'alice' },
      },
      repository: { full_name: SAMPLE, name: SAMPLE_REPO, owner: { login: SAMPLE_OWNER } },
      sender: { login: 'alice', type: 'User' },
    });
    const headers = {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': await sign(stack.webhookSecret, body),
    };
    const statuses = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const response = await fetch(stack.webhookUrl, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(15_000),
        });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    expect(statuses.filter((s) => s < 200 || s >= 300)).toEqual([]);

    const [run] = await eventually('the run of the duplicated delivery', async () => {
      const runs = await runsOfIssue(secondIssue);
      return runs.length > 0 ? runs : undefined;
    });
    // Give any straggler copy time to (wrongly) start a second run before counting.
    await sleep(1_000);
    expect((await runsOfIssue(secondIssue)).map((r) => r.runId)).toEqual([run?.runId]);
    const recorded = await deliveryItem(deliveryId);
    expect(recorded?.runId).toBe(run?.runId);
  });

  it('mallory (no write access) labelling issue #1 starts no run; the refusal and its reason are recorded', async () => {
    // GitHub lets the triage role label issues (read cannot): mallory can label, but not write.
    stack.forge.actions.setRole(SAMPLE_OWNER, SAMPLE_REPO, 'mallory', 'triage');
    const before = stack.forge.deliveries().length;
    await labelIssue(stack, 'mallory');
    const delivery = await eventually('the forge to deliver the label event', async () =>
      stack.forge
        .deliveries()
        .slice(before)
        .find((d) => d.event === 'issues' && d.action === 'labeled' && d.status === 'delivered'),
    );
    expect(delivery.attempts.at(-1)?.statusCode).toBe(200);

    const recorded = await eventually('the refusal to be recorded', async () => {
      const item = await deliveryItem(delivery.id);
      return item?.state === 'REFUSED' ? item : undefined;
    });
    expect(recorded.reason).toMatch(
      /@mallory has (read|triage) permission on acme\/widgets; write is required/,
    );
    // The delivery claimed a run id before the permission check; no run was ever created under it.
    if (recorded.runId) expect(await stack.store.getRun(recorded.runId)).toBeUndefined();

    // The person is told why, on the issue.
    const comments = (await (
      await fetch(`${stack.forge.apiUrl}/repos/${SAMPLE}/issues/${SAMPLE_ISSUE.number}/comments`)
    ).json()) as Json[];
    expect(comments.some((c) => /@mallory/.test(c.body) && /write access/.test(c.body))).toBe(true);
    expect(await runsOfIssue(SAMPLE_ISSUE.number)).toEqual([]);
  });

  it('alice labelling issue #1 starts one run, visible at GET /v1/runs?repo=acme/widgets', async () => {
    // mallory's label is still on the issue: alice takes it off and puts it back, as on GitHub.
    const removed = await fetch(
      `${stack.forge.apiUrl}/repos/${SAMPLE}/issues/${SAMPLE_ISSUE.number}/labels/${SAMPLE_LABEL}`,
      { method: 'DELETE', headers: { authorization: `token ${stack.forge.tokens.alice}` } },
    );
    expect(removed.status).toBe(200);
    await labelIssue(stack, 'alice');
    const listed = await eventually('the run in the REST API', async () => {
      const { status, json } = await api(stack, 'GET', `/v1/runs?repo=${SAMPLE}`);
      expect(status).toBe(200);
      const ofIssue = (json.data as Json[]).filter((r) => r.issue === SAMPLE_ISSUE.number);
      return ofIssue.length > 0 ? ofIssue : undefined;
    });
    expect(listed).toHaveLength(1);
    expect(listed[0].repo).toBe(SAMPLE);
    expect((await runsOfIssue(SAMPLE_ISSUE.number)).map((r) => r.runId)).toEqual([listed[0].id]);
  });

  it('a redelivery of that delivery, later, starts nothing more', async () => {
    const [run] = await runsOfIssue(SAMPLE_ISSUE.number);
    const original = stack.forge
      .deliveries()
      .find(
        (d) =>
          d.event === 'issues' &&
          d.action === 'labeled' &&
          !d.redelivery &&
          JSON.parse(d.body).sender?.login === 'alice' &&
          JSON.parse(d.body).issue?.number === SAMPLE_ISSUE.number,
      );
    expect(original).toBeDefined();
    const redelivered = await stack.forge.redeliver(original?.id ?? '');
    expect(redelivered.redelivery).toBe(true);
    expect(redelivered.id).toBe(original?.id);
    expect(redelivered.attempts.at(-1)?.statusCode).toBeGreaterThanOrEqual(200);
    expect(redelivered.attempts.at(-1)?.statusCode).toBeLessThan(300);
    await sleep(1_000);
    expect((await runsOfIssue(SAMPLE_ISSUE.number)).map((r) => r.runId)).toEqual([run?.runId]);
    const { json } = await api(stack, 'GET', `/v1/runs?repo=${SAMPLE}`);
    expect((json.data as Json[]).filter((r) => r.issue === SAMPLE_ISSUE.number)).toHaveLength(1);
  });
});
