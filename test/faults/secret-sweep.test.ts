import { paginateScan } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, type HistoryEvent, paginateListExecutions } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/dynamodb';
import type { Stack } from '../../local/stack';
import { forgeGet, type Sandbox } from '../e2e/pipeline/support';
import {
  api,
  approvalLinks,
  decide,
  eventually,
  firstRun,
  labelIssue,
  SAMPLE,
  startTestStack,
  waitForEnd,
  waitForStatus,
} from '../support/e2e';
import { localClient } from '../support/dynamodb';
import { historyOf } from './support';

/**
 * Fault suite: after a full run (label → … → approval through the real page → merge), no secret
 * may appear in any DynamoDB item, execution history, log line, API response (read while the run
 * waits for approval and after it ends), or on the forge (PR bodies, comments, reviews, commit
 * messages). Task tokens (decision 0004): each may be in the execution history, in the one event
 * that scheduled its own task, and in its pending-wait item (or LLM queue message) while it is
 * open; never in logs, API responses, the forge or any other item.
 */

let stack: Stack;
const logs: string[] = [];
const waitTokens = new Set<string>();
const restore: Array<() => void> = [];
let stopWatching = false;
let watcher: Promise<void> | undefined;

function captureOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (logs.length < 50_000)
        logs.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
      return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => {
      stream.write = original as typeof stream.write;
    });
  }
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[level];
    console[level] = (...args: unknown[]) => {
      if (logs.length < 50_000)
        logs.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
      original(...args);
    };
    restore.push(() => {
      console[level] = original;
    });
  }
}

beforeAll(async () => {
  captureOutput();
  stack = await startTestStack({ log: (line) => logs.push(line) });
}, 60_000);

afterAll(async () => {
  stopWatching = true;
  await watcher;
  await stack?.stop();
  for (const undo of restore.reverse()) undo();
});

async function secretValue(id: string): Promise<string> {
  const client = new SecretsManagerClient({
    endpoint: stack.endpoints.secretsmanager,
    region: LOCAL_REGION,
    credentials: FAKE_CREDENTIALS,
  });
  try {
    return (await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString ?? '';
  } finally {
    client.destroy();
  }
}

async function scanTable(): Promise<string[]> {
  const client = localClient(stack.endpoints.dynamodb);
  const items: string[] = [];
  try {
    for await (const page of paginateScan({ client }, { TableName: 'code-factory' })) {
      for (const item of page.Items ?? []) items.push(JSON.stringify(item));
      if (items.length > 20_000) throw new Error('table larger than expected');
    }
  } finally {
    client.destroy();
  }
  return items;
}

/** What API consumers can read about the run: the run, its events, the run list, the work item. */
async function apiTexts(runId: string): Promise<string[]> {
  const paths = [
    `/v1/runs/${runId}`,
    `/v1/runs/${runId}/events?limit=100`,
    `/v1/runs?repo=${SAMPLE}`,
    `/v1/work-items/${SAMPLE}/1`,
  ];
  const texts: string[] = [];
  for (const path of paths) {
    const response = await api(stack, 'GET', path);
    expect(response.status, path).toBe(200);
    texts.push(JSON.stringify(response.json));
  }
  return texts;
}

async function allHistories(): Promise<Array<{ name: string; text: string; events: HistoryEvent[] }>> {
  const result: Array<{ name: string; text: string; events: HistoryEvent[] }> = [];
  for await (const page of paginateListExecutions(
    { client: stack.sfn },
    { stateMachineArn: stack.stateMachineArn },
  )) {
    for (const execution of page.executions ?? []) {
      const name = execution.name ?? '';
      const described = await stack.sfn.send(
        new DescribeExecutionCommand({ executionArn: execution.executionArn }),
      );
      const events = await historyOf(stack.sfn, stack.stateMachineArn, name);
      result.push({
        name,
        events,
        text: JSON.stringify({ input: described.input, output: described.output }),
      });
    }
  }
  return result;
}

/** Everything the forge shows about the sample repo: PRs, their commits and reviews, issue comments. */
async function forgeTexts(): Promise<string[]> {
  const box: Sandbox = { owner: 'acme', name: 'widgets', full: SAMPLE, issue: 1 };
  const texts: string[] = [];
  const add = (value: unknown) => texts.push(JSON.stringify(value ?? null));
  const pulls = (await forgeGet(stack, `/repos/${box.full}/pulls?state=all&per_page=100`)) ?? [];
  for (const pull of pulls) {
    add(pull);
    texts.push(
      JSON.stringify(await forgeGet(stack, `/repos/${box.full}/pulls/${pull.number}/commits?per_page=100`)),
    );
    add(await forgeGet(stack, `/repos/${box.full}/pulls/${pull.number}/reviews`));
    texts.push(
      JSON.stringify(await forgeGet(stack, `/repos/${box.full}/issues/${pull.number}/comments?per_page=100`)),
    );
  }
  add(await forgeGet(stack, `/repos/${box.full}/issues/1/comments?per_page=100`));
  add(await forgeGet(stack, `/repos/${box.full}/commits?per_page=100`));
  return texts;
}

describe('no secret leaks after a full run', () => {
  it('secrets, task tokens and approval link tokens appear only where they must', async () => {
    await labelIssue(stack);
    const run = await firstRun(stack);
    // Watch the run's approval wait: the task token it stores server-side is collected.
    watcher = (async () => {
      for (let i = 0; i < 1_000 && !stopWatching; i++) {
        const wait = await stack.store.getWait('approval', run.runId).catch(() => undefined);
        if (wait) waitTokens.add(wait.taskToken);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    // What the API shows while the run waits for approval (its wait token stored), and after.
    await waitForStatus(stack, run.runId, ['AWAITING_APPROVAL']);
    // The status is written first, then the wait item.
    const waiting = await eventually('the approval wait', () => stack.store.getWait('approval', run.runId));
    if (waiting) waitTokens.add(waiting.taskToken);
    const apiResponses = await apiTexts(run.runId);
    // While it waits, the approval token is in its own wait item and in no other item.
    const approvalToken = waiting?.taskToken ?? '';
    expect(approvalToken.length).toBeGreaterThan(8);
    const holding = (await scanTable()).filter((item) => item.includes(approvalToken));
    expect(holding).toHaveLength(1);
    expect(holding[0]).toContain('"taskToken"');
    expect(holding[0]).toContain(`WAIT#approval#${run.runId}`);
    expect(await decide(stack, run.runId, 'approve')).toBeLessThan(400);
    const ended = await waitForEnd(stack, run.runId, 60_000);
    expect(ended.status).toBe('SUCCEEDED');
    stopWatching = true;
    await watcher;

    expect(waitTokens.size).toBe(1);
    const histories = await allHistories();
    expect(histories.map((h) => h.name)).toContain(run.runId);
    // Every task token of the run, read where it may be: the parameters of the task it belongs to.
    const own = histories.find((h) => h.name === run.runId)?.events ?? [];
    const scheduled = own.filter((event) => event.type === 'TaskScheduled');
    const tokenOf = (event: HistoryEvent): string | undefined => {
      const parameters = JSON.parse(event.taskScheduledEventDetails?.parameters ?? '{}');
      const body =
        typeof parameters.MessageBody === 'string'
          ? JSON.parse(parameters.MessageBody)
          : parameters.MessageBody;
      return parameters.Payload?.taskToken ?? body?.taskToken;
    };
    const taskTokensSeen = new Set(scheduled.flatMap((event) => tokenOf(event) ?? []));
    // 11 LLM turns and 2 waits (checks, approval) of the run, each a callback with its own token.
    expect(taskTokensSeen.size).toBeGreaterThanOrEqual(13);
    for (const token of waitTokens) expect(taskTokensSeen.has(token), 'the approval token').toBe(true);
    // In the history, each token is only in the event that scheduled its own task.
    for (const token of taskTokensSeen) {
      const holders = histories.flatMap((h) => h.events).filter((e) => JSON.stringify(e).includes(token));
      expect(holders.map((e) => e.type)).toEqual(['TaskScheduled']);
    }
    const linkTokens = (await approvalLinks(stack))
      .map((link) => new URL(link).searchParams.get('t') ?? '')
      .filter(Boolean);

    const secrets: Record<string, string> = {
      'webhook secret': stack.webhookSecret,
      'API key': stack.apiKey ?? '',
      'approval signing key': await secretValue('code-factory/approval-signing-key'),
      'model API key': await secretValue('code-factory/anthropic-api-key'),
      'GitHub token': stack.forge.botToken,
      ...Object.fromEntries(linkTokens.map((t, i) => [`approval link token ${i}`, t])),
    };
    const tokens = Object.fromEntries([...taskTokensSeen].map((t, i) => [`task token ${i}`, t]));
    for (const [name, value] of Object.entries({ ...secrets, ...tokens })) {
      expect(value.length, `${name} is known`).toBeGreaterThan(8);
    }
    expect(linkTokens.length).toBeGreaterThan(0);

    const items = await scanTable();
    const forge = await forgeTexts();
    apiResponses.push(...(await apiTexts(run.runId)));
    const logText = logs.join('\n');
    expect(items.length).toBeGreaterThan(10);
    expect(logText.length).toBeGreaterThan(0);

    const leaks: string[] = [];
    const look = (where: string, text: string, values: Record<string, string>) => {
      for (const [name, value] of Object.entries(values))
        if (text.includes(value)) leaks.push(`${name} in ${where}`);
    };
    for (const item of items) look(`table item ${item.slice(0, 80)}`, item, { ...secrets, ...tokens });
    for (const text of forge) look('the forge', text, { ...secrets, ...tokens });
    look('the logs', logText, { ...secrets, ...tokens });
    for (const text of apiResponses) look('an API response', text, { ...secrets, ...tokens });
    for (const history of histories) {
      look(`execution ${history.name} input/output`, history.text, { ...secrets, ...tokens });
      for (const event of history.events) {
        const text = JSON.stringify(event);
        const where = `execution ${history.name} event ${event.id} ${event.type}`;
        // Tokens were checked above: each is in its own TaskScheduled event only.
        look(where, text, secrets);
      }
    }
    expect(leaks).toEqual([]);
  }, 120_000);
});
