import { spawn } from 'node:child_process';
import path from 'node:path';
import { GetExecutionHistoryCommand, type HistoryEvent, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../local/stack';
import {
  approvalLinks,
  decide,
  eventually,
  firstRun,
  labelIssue,
  SAMPLE,
  startTestStack,
} from '../../support/e2e';
import { ROOT, within } from './child';

/**
 * Issue 8: `code-factory runs watch` follows the sample run to its end in a real terminal process
 * while it is approved, and `runs list --json` shows it. Issue 3: the finished execution's history
 * carries task tokens only where Step Functions itself puts them (the scheduled task's
 * parameters), every one of them spent, and never an approval link token; the console answers.
 */

const CLI = path.join(ROOT, 'cli', 'bin.js');

interface CliRun {
  code: Promise<number | null>;
  stdout(): string;
  stderr(): string;
  kill(): void;
}

function cli(args: string[]): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const code = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, stdout: () => out, stderr: () => err, kill: () => child.kill('SIGKILL') };
}

describe('CLI watch and execution history on the embedded stack', () => {
  let stack: Stack;
  let runId: string;
  const children: CliRun[] = [];

  beforeAll(async () => {
    stack = await startTestStack();
  });

  afterAll(async () => {
    for (const child of children) child.kill();
    await stack?.stop();
  });

  it('`runs watch <id>` follows the run to SUCCEEDED while it is approved, exit 0', async () => {
    await labelIssue(stack);
    runId = (await firstRun(stack)).runId;
    const watch = cli([
      'runs',
      'watch',
      runId,
      '--url',
      stack.url,
      '--api-key',
      stack.apiKey ?? '',
      '--interval',
      '1',
      '--timeout',
      '50',
    ]);
    children.push(watch);
    expect(await decide(stack, runId, 'approve')).toBeLessThan(400);
    const code = await within(watch.code, 45_000, 'runs watch to exit');
    expect({ code, stderr: watch.stderr() }).toEqual({ code: 0, stderr: '' });
    const lines = watch.stdout().trim().split('\n');
    // It showed the run in progress (one line per change) before its final line.
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(
      /\s(PLANNING|IMPLEMENTING|VERIFYING|REVIEWING|AWAITING_APPROVAL|MERGING|QUEUED)\b/,
    );
    expect(lines.at(-1)).toMatch(new RegExp(`^run ${runId} SUCCEEDED`));
  }, 55_000);

  it('`runs list --json` shows the run', async () => {
    const list = cli([
      'runs',
      'list',
      '--repo',
      SAMPLE,
      '--json',
      '--url',
      stack.url,
      '--api-key',
      stack.apiKey ?? '',
    ]);
    children.push(list);
    expect(await within(list.code, 20_000, 'runs list to exit')).toBe(0);
    const { runs } = JSON.parse(list.stdout()) as { runs: Array<{ id: string; status: string }> };
    expect(runs.find((r) => r.id === runId)?.status).toBe('SUCCEEDED');
  });

  it('the execution history holds task tokens only in scheduled-task parameters, all spent, and no approval link token', async () => {
    // The run's status is written by the last stage; the execution ends a moment later.
    const events = await eventually('the execution to end', async () => {
      const all: HistoryEvent[] = [];
      let nextToken: string | undefined;
      for (let page = 0; page < 20; page++) {
        const history = await stack.sfn.send(
          new GetExecutionHistoryCommand({
            executionArn: `${stack.stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`,
            maxResults: 500,
            ...(nextToken ? { nextToken } : {}),
          }),
        );
        all.push(...(history.events ?? []));
        nextToken = history.nextToken;
        if (!nextToken) break;
      }
      const last = all.at(-1)?.type ?? '';
      return last.startsWith('Execution') && last !== 'ExecutionStarted' ? all : undefined;
    });
    expect(events.at(-1)?.type).toBe('ExecutionSucceeded');

    // The tokens Step Functions handed to callback tasks (LLM turns, checks, approval).
    const tokens = new Set<string>();
    for (const event of events.filter((e) => e.type === 'TaskScheduled')) {
      const text = event.taskScheduledEventDetails?.parameters ?? '';
      for (const match of text.matchAll(
        /\\?"(?:taskToken|TaskToken)\\?"\s*:\s*\\?"([A-Za-z0-9_-]{20,})\\?"/g,
      ))
        if (match[1]) tokens.add(match[1]);
    }
    const callbacks = events.filter((e) =>
      e.taskScheduledEventDetails?.resource?.endsWith('.waitForTaskToken'),
    );
    expect(callbacks.length).toBeGreaterThan(0);
    expect(tokens.size).toBe(callbacks.length);

    // Nowhere else: no state input or output, no task result, no failure cause carries one.
    const elsewhere = JSON.stringify(events.filter((e) => e.type !== 'TaskScheduled'));
    for (const token of tokens) expect(elsewhere).not.toContain(token);
    // And every one is spent: the history cannot be used to answer a task again.
    for (const token of [...tokens].slice(0, 5)) {
      await expect(
        stack.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
      ).rejects.toMatchObject({ name: expect.stringMatching(/InvalidToken|TaskTimedOut|TaskDoesNotExist/) });
    }

    // The approval links' own tokens (and ids) never reach the execution.
    const links = await approvalLinks(stack);
    expect(links.length).toBeGreaterThan(0);
    const all = JSON.stringify(events);
    for (const link of links) {
      const url = new URL(link);
      const linkToken = url.searchParams.get('t');
      expect(linkToken?.length).toBeGreaterThan(10);
      expect(all).not.toContain(linkToken);
    }
  });

  it('the console URL answers 200 and lists the run', async () => {
    const response = await fetch(stack.consoleUrl, { signal: AbortSignal.timeout(10_000) });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain(runId);
  });
});
