import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/dynamodb';
import { readMailStore } from '../../../local/emulators/ses';
import { SAMPLE_ISSUE, SAMPLE_LABEL, SAMPLE_OWNER, SAMPLE_REPO } from '../../../local/forge';
import { eventually } from '../../support/e2e';
import {
  killAll,
  portIsFree,
  portOf,
  type ReadyLine,
  type StartedStack,
  signalGroup,
  startChild,
  within,
} from './child';

/**
 * `npm start` exactly as an operator runs it (SPEC §7, issue 3): a child process, its ready
 * line, every endpoint answering its real SDK client, the printed API key, the webhook secret
 * from FACTORY_WEBHOOK_SECRET, a clean Ctrl-C, and a restart on the same data dir that keeps
 * the data and ends the execution it interrupted as FAILED LocalEngineRestarted.
 */

const WEBHOOK_SECRET = `e2e-${randomUUID()}`;
const SAMPLE = `${SAMPLE_OWNER}/${SAMPLE_REPO}`;

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary fields of API responses
type Json = any;

async function call(
  ready: ReadyLine,
  method: string,
  urlPath: string,
  apiKey: string | null = ready.apiKey,
): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${ready.url}${urlPath}`, {
    method,
    headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : {} };
}

/** The `issues.labeled` delivery GitHub sends when alice labels the sample issue. */
function labeledDelivery() {
  return JSON.stringify({
    action: 'labeled',
    label: { name: SAMPLE_LABEL },
    issue: {
      number: SAMPLE_ISSUE.number,
      title: SAMPLE_ISSUE.title,
      state: 'open',
      user: { login: SAMPLE_ISSUE.author, type: 'User' },
      labels: [{ name: SAMPLE_LABEL }],
    },
    repository: { full_name: SAMPLE, name: SAMPLE_REPO, owner: { login: SAMPLE_OWNER } },
    sender: { login: 'alice', type: 'User' },
  });
}

async function deliver(ready: ReadyLine, body: string, secret: string): Promise<number> {
  const response = await fetch(ready.webhookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': await sign(secret, body),
    },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  await response.arrayBuffer();
  return response.status;
}

const allPorts = (ready: ReadyLine): number[] => [
  ...new Set(
    [ready.url, ready.consoleUrl, ready.forgeUrl, ready.mailUrl, ...Object.values(ready.endpoints)].map(
      portOf,
    ),
  ),
];

const clientConfig = (endpoint: string) => ({
  endpoint,
  region: LOCAL_REGION,
  credentials: FAKE_CREDENTIALS,
});

describe('npm start (child process)', () => {
  let dataDir: string;
  let first: StartedStack;
  let runId: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'npm-start-e2e-'));
    first = await startChild(dataDir, { FACTORY_WEBHOOK_SECRET: WEBHOOK_SECRET });
  });

  afterAll(async () => {
    await killAll();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('prints the ready line within 15 s with every field of SPEC §7, all on loopback', () => {
    const { ready, readyMs } = first;
    expect(readyMs).toBeLessThan(15_000);
    expect(ready.event).toBe('ready');
    const loopback = /^http:\/\/127\.0\.0\.1:\d+$/;
    for (const url of [ready.url, ready.consoleUrl, ready.forgeUrl, ready.mailUrl])
      expect(url).toMatch(loopback);
    expect(ready.webhookUrl).toBe(`${ready.url}/v1/webhooks/github`);
    expect(Object.keys(ready.endpoints).sort()).toEqual([
      'dynamodb',
      's3',
      'secretsmanager',
      'ses',
      'sqs',
      'stepfunctions',
    ]);
    for (const endpoint of Object.values(ready.endpoints)) expect(endpoint).toMatch(loopback);
    expect(ready.apiKey).toMatch(/^\S{20,}$/);
    // The ready line is the only stdout line, and the webhook secret never appears anywhere.
    expect(first.stdout().trim().split('\n')).toHaveLength(1);
    expect(first.stdout() + first.stderr()).not.toContain(WEBHOOK_SECRET);
  });

  it('answers the real SDK client of each service', async () => {
    const { endpoints, mailUrl } = first.ready;
    const tables = await new DynamoDBClient(clientConfig(endpoints.dynamodb)).send(new ListTablesCommand({}));
    expect(tables.TableNames).toContain('code-factory');

    const queues = await new SQSClient(clientConfig(endpoints.sqs)).send(new ListQueuesCommand({}));
    expect(queues.QueueUrls?.map((u) => u.split('/').at(-1)).sort()).toEqual([
      'code-factory-llm',
      'code-factory-llm-dlq',
    ]);

    const buckets = await new S3Client({ ...clientConfig(endpoints.s3), forcePathStyle: true }).send(
      new ListBucketsCommand({}),
    );
    expect(buckets.Buckets?.map((b) => b.Name)).toEqual(['code-factory-workspaces']);

    const sfn = new SFNClient(clientConfig(endpoints.stepfunctions));
    const machines = await sfn.send(new ListStateMachinesCommand({}));
    const pipeline = machines.stateMachines?.find((m) => m.name === 'code-factory-pipeline');
    expect(pipeline?.stateMachineArn).toMatch(/^arn:aws:states:.*:stateMachine:code-factory-pipeline$/);
    const executions = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: pipeline?.stateMachineArn }),
    );
    expect(executions.executions).toEqual([]);

    const subject = `npm start e2e ${randomUUID()}`;
    const sent = await new SESv2Client(clientConfig(endpoints.ses)).send(
      new SendEmailCommand({
        FromEmailAddress: 'factory@code-factory.local',
        Destination: { ToAddresses: ['alice@acme.test'] },
        Content: { Simple: { Subject: { Data: subject }, Body: { Text: { Data: 'hello' } } } },
      }),
    );
    expect(sent.MessageId).toBeTruthy();
    const mail = await readMailStore(mailUrl);
    expect(mail.emails.find((e) => e.messageId === sent.MessageId)?.subject).toBe(subject);

    const secrets = await new SecretsManagerClient(clientConfig(endpoints.secretsmanager)).send(
      new ListSecretsCommand({}),
    );
    const names = secrets.SecretList?.map((s) => s.Name) ?? [];
    expect(names).toContain('code-factory/webhook-secret');
    expect(JSON.stringify(secrets)).not.toContain(WEBHOOK_SECRET);
  });

  it('accepts its printed API key on GET /v1/runs?repo=acme/widgets, and nothing without it', async () => {
    const listed = await call(first.ready, 'GET', `/v1/runs?repo=${SAMPLE}`);
    expect(listed.status).toBe(200);
    expect(listed.json.data).toEqual([]);
    expect((await call(first.ready, 'GET', `/v1/runs?repo=${SAMPLE}`, null)).status).toBe(401);
    expect((await call(first.ready, 'GET', `/v1/runs?repo=${SAMPLE}`, `${first.ready.apiKey}x`)).status).toBe(
      401,
    );
  });

  it('honours FACTORY_WEBHOOK_SECRET: a delivery signed with it starts a run, another secret is refused', async () => {
    const body = labeledDelivery();
    expect(await deliver(first.ready, body, `not-${WEBHOOK_SECRET}`)).toBe(401);
    expect((await call(first.ready, 'GET', `/v1/runs?repo=${SAMPLE}`)).json.data).toEqual([]);

    const status = await deliver(first.ready, body, WEBHOOK_SECRET);
    expect(status).toBeGreaterThanOrEqual(200);
    expect(status).toBeLessThan(300);
    const runs = await eventually(
      'the run to be listed',
      async () => {
        const { json } = await call(first.ready, 'GET', `/v1/runs?repo=${SAMPLE}`);
        return json.data?.length > 0 ? (json.data as Json[]) : undefined;
      },
      15_000,
    );
    expect(runs).toHaveLength(1);
    runId = runs[0].id;
  });

  it('stops cleanly on Ctrl-C while a run waits for approval: exit 0, every port freed', async () => {
    await eventually(
      'the run to wait for approval',
      async () => {
        const { json } = await call(first.ready, 'GET', `/v1/runs/${runId}`);
        if (['FAILED', 'SUCCEEDED', 'CANCELLED'].includes(json.data?.status))
          throw new Error(`run ended ${json.data.status}`);
        return json.data?.status === 'AWAITING_APPROVAL';
      },
      40_000,
      250,
    );
    signalGroup(first.child, 'SIGINT');
    expect(await within(first.exited, 12_000, 'exit after SIGINT')).toBe(0);
    const freed = await Promise.all(allPorts(first.ready).map(portIsFree));
    expect(freed.every(Boolean)).toBe(true);
  });

  it('restarts on the same data dir with runs, work items, keys and forge repos kept, and the interrupted execution FAILED LocalEngineRestarted', async () => {
    const second = await startChild(dataDir, { FACTORY_WEBHOOK_SECRET: WEBHOOK_SECRET });
    const { ready } = second;
    try {
      // The first start's key still works: keys are stored (as hashes) in the data dir.
      const run = await eventually(
        'the interrupted run to end',
        async () => {
          const { status, json } = await call(ready, 'GET', `/v1/runs/${runId}`, first.ready.apiKey);
          expect(status).toBe(200);
          return json.data?.status === 'AWAITING_APPROVAL' ? undefined : json.data;
        },
        10_000,
      );
      expect(run.status).toBe('FAILED');
      expect(run.error?.class).toBe('LocalEngineRestarted');

      const listed = await call(ready, 'GET', `/v1/runs?repo=${SAMPLE}`);
      expect(listed.json.data.map((r: Json) => r.id)).toEqual([runId]);
      const workItem = await call(ready, 'GET', `/v1/work-items/${SAMPLE}/${SAMPLE_ISSUE.number}`);
      expect(workItem.status).toBe(200);
      expect(JSON.stringify(workItem.json)).toContain(runId);

      const sfn = new SFNClient(clientConfig(ready.endpoints.stepfunctions));
      const { stateMachines } = await sfn.send(new ListStateMachinesCommand({}));
      const stateMachineArn = stateMachines?.[0]?.stateMachineArn ?? '';
      const { executions } = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
      expect(executions?.map((e) => [e.name, e.status])).toEqual([[runId, 'FAILED']]);
      const execution = await sfn.send(
        new DescribeExecutionCommand({ executionArn: executions?.[0]?.executionArn }),
      );
      expect(execution.error).toBe('LocalEngineRestarted');

      // The forge kept the repository and the run's PR, closed as the failed run's change is
      // taken back (test/faults/restart.test.ts checks the whole cleanup), its branch deleted.
      const pulls = (await (
        await fetch(`${ready.forgeUrl}/api/v3/repos/${SAMPLE}/pulls?state=all`)
      ).json()) as Json[];
      expect(pulls).toHaveLength(1);
      expect(pulls[0].head.ref).toMatch(/^factory\/1-/);
      expect(pulls[0].state).toBe('closed');
      const branch = await fetch(
        `${ready.forgeUrl}/api/v3/repos/${SAMPLE}/branches/${encodeURIComponent(pulls[0].head.ref)}`,
      );
      expect(branch.status).toBe(404);

      signalGroup(second.child, 'SIGINT');
      expect(await within(second.exited, 12_000, 'exit after SIGINT')).toBe(0);
    } finally {
      signalGroup(second.child, 'SIGKILL');
    }
  });
});
