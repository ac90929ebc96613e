import { sign } from '@octokit/webhooks-methods';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GitHub } from '../../../functions/shared/ports';
import { createWebhookHandler } from '../../../functions/webhook/app';
import { type Gateway, startGateway } from '../../../local/gateway';
import { startTestDynamo, type TestDynamo } from '../../support/dynamodb';
import {
  CountingSecrets,
  FACTORY_LOGIN,
  FakeGitHub,
  FakeWorkflow,
  labeledPayload,
  SECRET_ID,
  silentLog,
  TEST_SECRET,
} from '../../unit/webhook/helpers';

// Real HTTP → local API Gateway → webhook handler → the DynamoDB store on dynalite.
let dynamo: TestDynamo;
let gateway: Gateway;
const workflow = new FakeWorkflow();
const github = new FakeGitHub();

beforeAll(async () => {
  dynamo = await startTestDynamo();
  github.permissions.set('alice', 'admin');
  github.permissions.set('mallory', 'read');
  const handler = createWebhookHandler({
    store: dynamo.store,
    workflow,
    github: github as unknown as GitHub,
    secrets: new CountingSecrets(),
    clock: dynamo.clock,
    ids: { ulid: () => ulid(dynamo.clock.now()), secret: () => 'unused' },
    log: silentLog,
    config: { webhookSecretId: SECRET_ID, factoryLogin: FACTORY_LOGIN },
  });
  gateway = await startGateway({ routes: [{ method: 'POST', path: '/v1/webhooks/github', handler }] });
});

afterAll(async () => {
  await gateway?.close();
  await dynamo?.close();
});

async function deliver(eventName: string, payload: unknown, deliveryId: string) {
  const body = JSON.stringify(payload);
  const response = await fetch(`${gateway.url}/v1/webhooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': eventName,
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': await sign(TEST_SECRET, body),
    },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, json: (await response.json()) as { data?: Record<string, unknown> } };
}

describe('webhook through the gateway on dynalite', () => {
  it('mallory labelling issue #1 → no run, reason recorded', async () => {
    const result = await deliver('issues', labeledPayload('mallory'), 'it-mallory');
    expect(result.status).toBe(200);
    expect(result.json.data).toMatchObject({ status: 'refused' });
    const runs = await dynamo.store.listRunsByRepo('acme/widgets', { limit: 10 });
    expect(runs.items).toHaveLength(0);
    const record = await dynamo.store.recordDelivery(
      { deliveryId: 'it-mallory', event: 'probe', state: 'RECORDED', receivedAt: new Date().toISOString() },
      60,
    );
    expect(record.first).toBe(false);
    expect(record.existing).toMatchObject({ state: 'REFUSED', reason: expect.stringMatching(/mallory/) });
  });

  it('50 concurrent duplicates of alice labelling issue #1 → exactly one run', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () => deliver('issues', labeledPayload('alice'), 'it-alice-dup')),
    );
    expect(results.every((r) => r.status >= 200 && r.status < 300)).toBe(true);
    expect(workflow.starts).toHaveLength(1);
    const runId = workflow.starts[0]?.runId;
    const runs = await dynamo.store.listRunsByRepo('acme/widgets', { limit: 10 });
    expect(runs.items.map((run) => run.runId)).toEqual([runId]);
    expect(runs.items[0]).toMatchObject({ status: 'QUEUED', trigger: { sender: 'alice' } });
    const withEvents = await dynamo.store.getRunWithEvents(runId!, { limit: 10 });
    expect(withEvents.events.items.map((e) => e.type)).toEqual(['run.created']);
    expect((await dynamo.store.getWorkItem('acme/widgets#1'))?.latestRunId).toBe(runId);
  });
});
