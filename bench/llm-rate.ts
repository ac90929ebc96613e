import { randomUUID } from 'node:crypto';
import { HANDLER_ENV } from './bundles';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ulid } from 'ulid';
import { createLlmWorkerHandler } from '../functions/llm-worker/app';
import { llmWorkerPorts } from '../functions/llm-worker/wiring';
import { env } from '../functions/shared/config';
import { DEFAULT_MODEL_ALIASES } from '../functions/shared/domain/models';
import { Run } from '../functions/shared/domain/run';
import { makeStore } from '../functions/shared/runtime';
import { ensureTable, FAKE_CREDENTIALS, LOCAL_REGION, startDynamo } from '../local/emulators/dynamodb';
import { startEventSource } from '../local/emulators/event-source';
import { startSecrets } from '../local/emulators/secrets';
import { createQueues, startSqs } from '../local/emulators/sqs';
import { startModel } from '../local/model/server';

/**
 * Model calls per minute through the real LLM worker (functions/llm-worker), the real SQS emulator
 * and the embedded stack's event source, against a stand-in limited to N requests per rolling
 * minute. Many turns are queued at once; the figure is the successful calls in the first minute
 * after the first call, as a share of N, and the share of model requests answered 429.
 *
 * The state machine is replaced by a stub Step Functions endpoint that records SendTaskSuccess /
 * SendTaskFailure: the worker's contract with the pipeline ends at the task token.
 */

export interface LlmRateBench {
  limitPerMinute: number;
  queuedTurns: number;
  windowSeconds: number;
  /** Successful model calls in the window, per minute. */
  callsPerMinute: number;
  percentOfLimit: number;
  modelRequests: number;
  answered429: number;
  percent429: number;
  tasksSucceeded: number;
  tasksFailed: number;
  workerConcurrency: number;
}

/** A run in its plan stage: the worker records the ledger and the audit event on it. */
function benchRun(runId: string, issueNumber: number, createdAt: string): Run {
  return Run.parse({
    runId,
    kind: 'change',
    repo: 'acme/bench-llm',
    issueNumber,
    workItemKey: `acme/bench-llm#${issueNumber}`,
    status: 'PLANNING',
    version: 0,
    createdAt,
    updatedAt: createdAt,
    trigger: { source: 'label', sender: 'alice' },
  });
}

async function startStepFunctionsStub() {
  const succeeded = new Set<string>();
  const failed = new Map<string, string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
        taskToken?: string;
        error?: string;
      };
      if (target.endsWith('.SendTaskSuccess') && body.taskToken) succeeded.add(body.taskToken);
      else if (target.endsWith('.SendTaskFailure') && body.taskToken)
        failed.set(body.taskToken, body.error ?? '');
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    succeeded,
    failed,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function benchLlmRate(options: {
  limitPerMinute: number;
  queuedTurns: number;
  windowSeconds: number;
  say: (line: string) => void;
}): Promise<LlmRateBench> {
  const { limitPerMinute, queuedTurns, windowSeconds } = options;
  const closers: Array<() => Promise<unknown>> = [];
  const maximumConcurrency = 5; // as local/stack.ts maps the worker
  try {
    const dynamo = await startDynamo();
    closers.push(() => dynamo.close());
    await ensureTable(dynamo.endpoint, 'code-factory');
    const sqs = await startSqs();
    closers.push(() => sqs.close());
    const queues = await createQueues(sqs.endpoint, {
      name: 'bench-llm',
      dlqName: 'bench-llm-dlq',
      maxReceiveCount: 6,
      visibilityTimeoutSeconds: 120,
    });
    const secrets = await startSecrets({ seed: { 'code-factory/anthropic-api-key': 'local-model-key' } });
    closers.push(() => secrets.close());
    const model = await startModel({ rateLimitPerMinute: limitPerMinute });
    closers.push(() => model.close());
    const sfn = await startStepFunctionsStub();
    closers.push(() => sfn.close());

    Object.assign(process.env, {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_SFN: sfn.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      ANTHROPIC_BASE_URL: model.url,
    });
    // The contract's placeholder values (bench/bundles.ts), with this bench's endpoints and queue.
    const config = env({ ...process.env, ...HANDLER_ENV, LLM_QUEUE_URL: queues.queueUrl });
    const store = makeStore(config);

    // One conversation per turn: a plan stage's first turn, as startAgent stores it.
    const messages = [];
    const createdAt = new Date().toISOString();
    for (let i = 0; i < queuedTurns; i++) {
      const conversationId = `bench-conv-${i}`;
      const runId = ulid();
      await store.createRun(benchRun(runId, i + 1, createdAt));
      await store.putConversation({
        conversationId,
        runId,
        stage: 'plan',
        modelAlias: 'planner',
        system: 'You plan small code changes.',
        tools: [
          {
            name: 'submit_plan',
            description: 'Submit the plan.',
            input_schema: { type: 'object', properties: { summary: { type: 'string' } } },
          },
        ],
        maxTokens: 1024,
        models: [...DEFAULT_MODEL_ALIASES.planner],
        budgetUsd: 5,
        createdAt,
      });
      await store.putTurn({
        conversationId,
        turn: 0,
        runId,
        stage: 'plan',
        role: 'user',
        content: [{ type: 'text', text: `Plan change ${i}: add a helper.` }],
        createdAt,
      });
      messages.push({
        taskToken: `bench-token-${i}-${randomUUID()}`,
        runId,
        stage: 'plan',
        conversationId,
        turn: 1,
        modelAlias: 'planner',
      });
    }

    const sqsClient = new SQSClient({
      endpoint: sqs.endpoint,
      region: LOCAL_REGION,
      credentials: FAKE_CREDENTIALS,
    });
    for (let i = 0; i < messages.length; i += 10) {
      await sqsClient.send(
        new SendMessageBatchCommand({
          QueueUrl: queues.queueUrl,
          Entries: messages
            .slice(i, i + 10)
            .map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) })),
        }),
      );
    }

    const worker = createLlmWorkerHandler(llmWorkerPorts(config));
    const mapping = startEventSource({
      client: sqsClient,
      queueUrl: queues.queueUrl,
      queueArn: queues.queueArn,
      handler: worker,
      batchSize: 5,
      maximumConcurrency,
      functionTimeoutMs: 120_000,
      functionName: 'bench-llm-worker',
    });
    closers.push(() => mapping.stop());

    // Wait for the first call, then measure one window.
    const firstDeadline = Date.now() + 20_000;
    while (!model.calls().some((c) => c.path === '/v1/messages') && Date.now() < firstDeadline)
      await new Promise((r) => setTimeout(r, 20));
    const first = model.calls().find((c) => c.path === '/v1/messages');
    if (!first) throw new Error('the worker made no model call within 20 s');
    const windowEnd = first.at + windowSeconds * 1000;
    let lastSay = Date.now();
    while (Date.now() < windowEnd) {
      await new Promise((r) => setTimeout(r, 250));
      if (Date.now() - lastSay > 10_000) {
        const ok = model.calls().filter((c) => c.path === '/v1/messages' && c.status === 200).length;
        options.say(`  ${ok} model calls answered so far…`);
        lastSay = Date.now();
      }
    }
    const inWindow = model.calls().filter((c) => c.path === '/v1/messages' && c.at < windowEnd);
    const ok = inWindow.filter((c) => c.status === 200).length;
    const limited = inWindow.filter((c) => c.status === 429).length;
    return {
      limitPerMinute,
      queuedTurns,
      windowSeconds,
      callsPerMinute: (ok / windowSeconds) * 60,
      percentOfLimit: ((ok / windowSeconds) * 60 * 100) / limitPerMinute,
      modelRequests: inWindow.length,
      answered429: limited,
      percent429: inWindow.length ? (limited * 100) / inWindow.length : 0,
      tasksSucceeded: sfn.succeeded.size,
      tasksFailed: sfn.failed.size,
      workerConcurrency: maximumConcurrency,
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}
