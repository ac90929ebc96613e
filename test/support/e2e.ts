import { isTerminal, type Run } from '../../functions/shared/domain/run';
import { approveThroughPage } from '../../local/demo';
import { readMailStore } from '../../local/emulators/ses';
import { SAMPLE_ISSUE, SAMPLE_LABEL, SAMPLE_OWNER, SAMPLE_REPO } from '../../local/forge';
import { type Stack, type StackOptions, startStack } from '../../local/stack';

/**
 * End-to-end helpers over the embedded stack. One stack per test file (the stack sets
 * process.env); every wait is bounded and fails with what it last saw.
 */

export const SAMPLE = `${SAMPLE_OWNER}/${SAMPLE_REPO}`;

export async function startTestStack(options: StackOptions = {}): Promise<Stack> {
  return startStack({ ciTimeoutMs: 60_000, ...options });
}

/** Labels an issue (default: the sample issue) as `user`: the forge sends the signed webhook. */
export async function labelIssue(stack: Stack, user = 'alice', issue = SAMPLE_ISSUE.number): Promise<void> {
  await stack.forge.actions.labelIssue(user, SAMPLE_OWNER, SAMPLE_REPO, issue, SAMPLE_LABEL);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a value (not undefined/false) or the time is up. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 150,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    }
    await sleep(everyMs);
  }
}

/** Runs of a repo, newest first. */
export async function runsOf(stack: Stack, repo = SAMPLE): Promise<Run[]> {
  return (await stack.store.listRunsByRepo(repo, { limit: 50 })).items;
}

/** The newest run of the repo, once one exists. */
export const firstRun = (stack: Stack, repo = SAMPLE, timeoutMs = 30_000) =>
  eventually('a run to start', async () => (await runsOf(stack, repo))[0], timeoutMs);

export async function waitForStatus(
  stack: Stack,
  runId: string,
  statuses: Run['status'][],
  timeoutMs = 90_000,
): Promise<Run> {
  let seen: Run | undefined;
  try {
    return await eventually(
      `run ${runId} to reach ${statuses.join('|')}`,
      async () => {
        seen = await stack.store.getRun(runId);
        return seen && statuses.includes(seen.status) ? seen : undefined;
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(
      `${(error as Error).message}; last seen ${seen?.status ?? 'nothing'} at ${seen?.stage ?? '-'}${seen?.error ? ` (${seen.error.class}: ${seen.error.cause})` : ''}`,
    );
  }
}

export const waitForEnd = (stack: Stack, runId: string, timeoutMs = 120_000) =>
  eventually(
    `run ${runId} to end`,
    async () => {
      const run = await stack.store.getRun(runId);
      return run && isTerminal(run.status) ? run : undefined;
    },
    timeoutMs,
  );

/** Approval links in the stack's mailbox (the mail store is per process: filter by this stack's URL). */
export async function approvalLinks(stack: Stack): Promise<string[]> {
  const store = await readMailStore(stack.mailUrl);
  return store.emails.flatMap((email) =>
    [...(email.body.text ?? '').matchAll(/https?:\/\/[^\s)>"']+\/approvals\/[^\s)>"']+/g)]
      .map((m) => m[0])
      .filter((link) => link.startsWith(stack.url)),
  );
}

/** Waits for the run's approval email and decides through the real confirmation page. */
export async function decide(stack: Stack, runId: string, decision: 'approve' | 'reject'): Promise<number> {
  await waitForStatus(stack, runId, ['AWAITING_APPROVAL']);
  const link = await eventually('an approval link', async () => {
    const links = await approvalLinks(stack);
    return links.find((l) => l.includes(`d=${decision}`)) ?? links.at(-1);
  });
  return approveThroughPage(link, decision);
}

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary fields of API responses
type Json = any;

/** A call to the stack's REST API with its printed API key. */
export async function api(
  stack: Stack,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Json; headers: Headers }> {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${stack.apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: Json;
  try {
    json = text ? (JSON.parse(text) as Json) : {};
  } catch {
    json = { text };
  }
  return { status: response.status, json, headers: response.headers };
}
