import type { Run } from '../../../functions/shared/domain/run';
import type { StoredAuditEvent } from '../../../functions/shared/ports';
import {
  BOT_LOGIN,
  SAMPLE_CI_COMMAND,
  SAMPLE_COLLABORATORS,
  SAMPLE_FILES,
  SAMPLE_ISSUE,
  SAMPLE_LABEL,
  SAMPLE_OWNER,
} from '../../../local/forge';
import { approveThroughPage } from '../../../local/demo';
import type { Script } from '../../../local/model/server';
import type { Stack } from '../../../local/stack';
import { approvalLinks, eventually, firstRun, waitForEnd, waitForStatus } from '../../support/e2e';

/**
 * Pipeline e2e helpers. Every scenario gets its own copy of the sample repository (same files,
 * users, CI and label) so runs in one stack never see each other's merges or PRs.
 */

export interface Sandbox {
  owner: string;
  name: string;
  full: string;
  issue: number;
}

let repoCounter = 0;

/** A fresh copy of acme/widgets with the sample issue (or `body`) opened by alice. */
export async function sandbox(
  stack: Stack,
  label: string,
  issue: {
    title?: string;
    body?: string;
    author?: string;
    ciCommand?: string;
    /** Files added to (or replacing) the sample's. */
    files?: Record<string, string>;
  } = {},
): Promise<Sandbox> {
  repoCounter += 1;
  // Capitals on purpose: GitHub names are case-insensitive, and every key the factory builds from
  // one (work item, CI wait, clarification wait) must still match what webhooks send.
  const name = `Widgets-${label}-${repoCounter}`;
  await stack.forge.actions.createRepo({
    owner: SAMPLE_OWNER,
    name,
    defaultBranch: 'main',
    files: { ...SAMPLE_FILES, ...issue.files },
    roles: { ...SAMPLE_COLLABORATORS, [BOT_LOGIN]: 'write' },
    ciCommand: issue.ciCommand ?? SAMPLE_CI_COMMAND,
    labels: [{ name: SAMPLE_LABEL }],
    author: SAMPLE_ISSUE.author,
  });
  const created = await stack.forge.actions.createIssue(
    issue.author ?? SAMPLE_ISSUE.author,
    SAMPLE_OWNER,
    name,
    {
      title: issue.title ?? SAMPLE_ISSUE.title,
      body: issue.body ?? SAMPLE_ISSUE.body,
    },
  );
  return { owner: SAMPLE_OWNER, name, full: `${SAMPLE_OWNER}/${name}`, issue: created.number };
}

/** Sets the model script, labels the sandbox's issue as alice and returns the run it started. */
export async function startScenario(stack: Stack, box: Sandbox, script: Script, user = 'alice') {
  stack.model?.setScript(script);
  await stack.forge.actions.labelIssue(user, box.owner, box.name, box.issue, SAMPLE_LABEL);
  return firstRun(stack, box.full);
}

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary fields of forge responses
type Json = any;

/** GET on the forge's REST API as the factory's bot; `undefined` on 404. */
export async function forgeGet(stack: Stack, path: string): Promise<Json> {
  const response = await fetch(`${stack.forge.apiUrl}${path}`, {
    headers: { authorization: `token ${stack.forge.botToken}`, accept: 'application/vnd.github+json' },
  });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`forge GET ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

export const pullOf = (stack: Stack, box: Sandbox, number: number) =>
  forgeGet(stack, `/repos/${box.full}/pulls/${number}`);

export async function pullCommits(stack: Stack, box: Sandbox, number: number): Promise<Json[]> {
  return (await forgeGet(stack, `/repos/${box.full}/pulls/${number}/commits?per_page=100`)) ?? [];
}

/** Paths a commit changed against its first parent. */
export async function commitFiles(stack: Stack, box: Sandbox, sha: string): Promise<string[]> {
  const commit = await forgeGet(stack, `/repos/${box.full}/commits/${sha}`);
  return (commit?.files ?? []).map((f: { filename: string }) => f.filename);
}

export async function commitMessage(stack: Stack, box: Sandbox, sha: string): Promise<string> {
  return (await forgeGet(stack, `/repos/${box.full}/commits/${sha}`))?.commit?.message ?? '';
}

export async function issueComments(
  stack: Stack,
  box: Sandbox,
  number = box.issue,
): Promise<Array<{ id: number; body: string; author: string }>> {
  const list: Json[] =
    (await forgeGet(stack, `/repos/${box.full}/issues/${number}/comments?per_page=100`)) ?? [];
  return list.map((c) => ({ id: c.id, body: String(c.body), author: String(c.user?.login) }));
}

export async function branchExists(stack: Stack, box: Sandbox, branch: string): Promise<boolean> {
  return (await forgeGet(stack, `/repos/${box.full}/git/ref/heads/${branch}`)) !== undefined;
}

/** A file's text at a ref, or undefined when absent. */
export async function fileAt(
  stack: Stack,
  box: Sandbox,
  path: string,
  ref = 'main',
): Promise<string | undefined> {
  const file = await forgeGet(stack, `/repos/${box.full}/contents/${path}?ref=${encodeURIComponent(ref)}`);
  if (!file || Array.isArray(file)) return undefined;
  return Buffer.from(String(file.content), 'base64').toString('utf8');
}

export async function reviewsOf(stack: Stack, box: Sandbox, number: number): Promise<Json[]> {
  return (await forgeGet(stack, `/repos/${box.full}/pulls/${number}/reviews`)) ?? [];
}

export async function eventsOf(stack: Stack, runId: string): Promise<StoredAuditEvent[]> {
  return (await stack.store.listEvents(runId, { limit: 500 })).items;
}

export const eventTypes = async (stack: Stack, runId: string) =>
  (await eventsOf(stack, runId)).map((e) => e.type);

/** Waits until the run's execution is no longer RUNNING (stopped, failed or succeeded). */
export async function executionEnded(stack: Stack, runId: string, timeoutMs = 20_000): Promise<string> {
  const { DescribeExecutionCommand } = await import('@aws-sdk/client-sfn');
  const arn = `${stack.stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`;
  return eventually(
    `execution ${runId} to stop`,
    async () => {
      const out = await stack.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      return out.status && out.status !== 'RUNNING' ? out.status : undefined;
    },
    timeoutMs,
  );
}

/** This run's approval link (the mailbox holds every run's emails) for alice. */
export async function approvalLinkOf(
  stack: Stack,
  runId: string,
  decision: 'approve' | 'reject',
): Promise<string> {
  return eventually(`an approval link of ${runId}`, async () => {
    const ids = (await stack.store.listApprovalsForRun(runId))
      .filter((a) => a.state === 'PENDING')
      .map((a) => a.approvalId);
    const links = await approvalLinks(stack);
    return links.find(
      (l) => ids.some((id) => l.includes(`/approvals/${id}?`)) && l.includes(`d=${decision}`),
    );
  });
}

/** Decides this run's approval through the real confirmation page, optionally with a comment. */
export async function decideRun(
  stack: Stack,
  runId: string,
  decision: 'approve' | 'reject',
  comment?: string,
): Promise<number> {
  await waitForStatus(stack, runId, ['AWAITING_APPROVAL']);
  const link = await approvalLinkOf(stack, runId, decision);
  return approveThroughPage(link, decision, comment);
}

/**
 * The run's terminal record once its execution has ended too: finalize writes the status before
 * it closes a rejected PR, releases waits and updates the issue comment.
 */
export async function finished(stack: Stack, runId: string, timeoutMs = 90_000): Promise<Run> {
  await waitForEnd(stack, runId, timeoutMs);
  await executionEnded(stack, runId);
  return (await stack.store.getRun(runId)) as Run;
}
