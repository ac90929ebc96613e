import { isTerminal, type Run } from '../../functions/shared/domain/run';
import { approveThroughPage } from '../demo';
import { readMailStore } from '../emulators/ses';
import { BOT_LOGIN, SAMPLE_COLLABORATORS, SAMPLE_LABEL, SAMPLE_OWNER, SAMPLE_USERS } from '../forge';
import type { Scenario } from '../model/scenarios';
import { anthropicFromEnv, type Stack, startStack } from '../stack';
import { type HiddenTestResult, runHiddenTests } from './hidden-tests';
import type { EvalTask } from './tasks';

/**
 * `npm run eval`: each task on the embedded stack, one after the other, as a user would meet it.
 * A fresh forge repository holds the task's snapshot; its issue is labelled by the repository's
 * admin; questions get the task's answer and the approval is given through the approval page;
 * once the run ends, the task's hidden tests run on its final head (the merge, else the PR's head,
 * else the base) and decide whether it was resolved.
 */

export interface TaskResult {
  id: string;
  /** The run's terminal status (or where it was when the task's time ran out, then cancelled). */
  status: string;
  resolved: boolean;
  costUsd: number;
  /** Model calls the run made. */
  turns: number;
  /** From the label to the run's end. */
  ms: number;
  runId?: string;
  prUrl?: string;
  /** Which head the hidden tests ran on. */
  testedSha?: string;
  hiddenTests?: HiddenTestResult;
}

export interface EvalReport {
  tasks: TaskResult[];
  /** Resolved tasks over tasks run (0 when none ran). */
  resolvedRate: number;
  /** Tasks not run: offline, those without a model script. */
  skipped: Array<{ id: string; reason: string }>;
  /** The model that played: `scripted stand-in` or the real model's base URL. */
  model: string;
}

export interface EvalOptions {
  tasks: EvalTask[];
  /** Plays this instead of each task's model script (--scenario, --model-script). */
  scenario?: Scenario;
  unsafeSandbox?: boolean;
  say?: (line: string) => void;
}

const POLL_MS = 250;
/** Posted when a task gives no answer of its own to the plan's questions. */
const NO_ANSWER = 'No further details: make a reasonable assumption, state it, and go on.';

/** This run's pending approval link, from the stack's mailbox. */
async function approvalLinkOf(stack: Stack, runId: string): Promise<string | undefined> {
  const ids = (await stack.store.listApprovalsForRun(runId))
    .filter((a) => a.state === 'PENDING')
    .map((a) => a.approvalId);
  const store = await readMailStore(stack.mailUrl);
  const links = store.emails.flatMap((email) =>
    [...(email.body.text ?? '').matchAll(/https?:\/\/[^\s)>"']+\/approvals\/[^\s)>"']+/g)].map((m) => m[0]),
  );
  return links.find(
    (l) =>
      l.startsWith(stack.url) && ids.some((id) => l.includes(`/approvals/${id}?`)) && l.includes('d=approve'),
  );
}

async function newestRun(stack: Stack, repo: string): Promise<Run | undefined> {
  return (await stack.store.listRunsByRepo(repo, { limit: 1 })).items[0];
}

/** Follows the run to its end (answering, approving), or cancels it when the task's time is up. */
async function followRun(
  stack: Stack,
  task: EvalTask,
  repo: string,
  deadline: number,
): Promise<Run | undefined> {
  let run: Run | undefined;
  let answered = 0;
  let approved = false;
  for (;;) {
    run = run ? ((await stack.store.getRun(run.runId)) ?? run) : await newestRun(stack, repo);
    if (run && isTerminal(run.status)) return run;
    if (Date.now() > deadline) {
      if (run)
        await fetch(`${stack.url}/v1/runs/${run.runId}/cancel`, {
          method: 'POST',
          headers: { authorization: `Bearer ${stack.apiKey}` },
        }).catch(() => undefined);
      return run;
    }
    if (run?.status === 'AWAITING_CLARIFICATION') {
      const asked = (await stack.store.listEvents(run.runId, { limit: 500 })).items.filter(
        (e) => e.type === 'clarify.asked',
      ).length;
      if (asked > answered && run.issueNumber) {
        await stack.forge.actions.comment(
          SAMPLE_USERS.admin,
          SAMPLE_OWNER,
          repo.split('/')[1] ?? '',
          run.issueNumber,
          task.answer ?? NO_ANSWER,
        );
        answered = asked;
      }
    }
    if (run?.status === 'AWAITING_APPROVAL' && !approved) {
      const link = await approvalLinkOf(stack, run.runId);
      if (link) approved = (await approveThroughPage(link, 'approve')) < 400;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function runTask(
  stack: Stack,
  task: EvalTask,
  options: { script?: Scenario; allowUnsafe: boolean },
): Promise<TaskResult> {
  const name = `eval-${task.id}`;
  const repo = `${SAMPLE_OWNER}/${name}`;
  await stack.forge.actions.createRepo({
    owner: SAMPLE_OWNER,
    name,
    defaultBranch: 'main',
    files: task.repo,
    roles: { ...SAMPLE_COLLABORATORS, [BOT_LOGIN]: 'write' },
    ciCommand: task.ciCommand ?? null,
    labels: [{ name: SAMPLE_LABEL }],
    author: SAMPLE_USERS.admin,
  });
  const issue = await stack.forge.actions.createIssue(SAMPLE_USERS.admin, SAMPLE_OWNER, name, {
    title: task.title,
    body: task.body,
  });
  if (options.script) stack.model?.setScript(options.script.script);
  // Each task's conversations count from one (`implement#2` is this task's fix attempt).
  stack.model?.reset();
  const started = Date.now();
  await stack.forge.actions.labelIssue(SAMPLE_USERS.admin, SAMPLE_OWNER, name, issue.number, SAMPLE_LABEL);
  const run = await followRun(stack, task, repo, started + (task.timeoutSeconds ?? 600) * 1000);
  const ms = Date.now() - started;
  if (!run) return { id: task.id, status: 'NOT_STARTED', resolved: false, costUsd: 0, turns: 0, ms };
  const testedSha = run.mergedSha ?? run.headSha ?? run.baseSha;
  const hiddenTests = testedSha
    ? await runHiddenTests(stack.forge, { owner: SAMPLE_OWNER, name }, testedSha, task, {
        allowUnsafe: options.allowUnsafe,
      })
    : undefined;
  return {
    id: task.id,
    status: run.status,
    resolved: hiddenTests?.passed ?? false,
    costUsd: run.ledger.costUsd,
    turns: run.ledger.llmCalls,
    ms,
    runId: run.runId,
    ...(run.prUrl ? { prUrl: run.prUrl } : {}),
    ...(testedSha ? { testedSha } : {}),
    ...(hiddenTests ? { hiddenTests } : {}),
  };
}

export async function runEval(options: EvalOptions): Promise<EvalReport> {
  const say = options.say ?? (() => undefined);
  const realModel = anthropicFromEnv(process.env);
  const scripted = !realModel.anthropicApiKey;
  const skipped: EvalReport['skipped'] = [];
  const runnable = options.tasks.filter((task) => {
    if (!scripted || options.scenario || task.scenario) return true;
    skipped.push({ id: task.id, reason: 'no model-script.json: it needs a real model (ANTHROPIC_API_KEY)' });
    return false;
  });
  const model = scripted ? 'scripted stand-in' : (realModel.anthropicBaseUrl ?? 'https://api.anthropic.com');
  const results: TaskResult[] = [];
  if (runnable.length > 0) {
    const stack = await startStack({
      ...realModel,
      ...(options.unsafeSandbox ? { unsafeSandbox: true } : {}),
    });
    try {
      say(`Embedded stack up at ${stack.url}; model: ${model}`);
      for (const task of runnable) {
        say(`Task ${task.id}: ${task.description ?? task.title}`);
        const script = scripted ? (options.scenario ?? task.scenario) : undefined;
        const result = await runTask(stack, task, {
          ...(script ? { script } : {}),
          // The stand-in's heads are the stack's own scripts; a real model's need the opt-in.
          allowUnsafe: scripted || options.unsafeSandbox === true,
        });
        say(
          `  ${result.status}, ${result.resolved ? 'resolved' : 'NOT resolved'}: $${result.costUsd.toFixed(4)}, ${result.turns} model calls, ${(result.ms / 1000).toFixed(1)} s`,
        );
        if (result.hiddenTests && !result.hiddenTests.passed)
          say(
            `  hidden tests failed (exit ${result.hiddenTests.exitCode}) on ${result.testedSha?.slice(0, 7)}`,
          );
        results.push(result);
      }
    } finally {
      await stack.stop();
    }
  }
  for (const skip of skipped) say(`Task ${skip.id} skipped: ${skip.reason}`);
  const resolved = results.filter((r) => r.resolved).length;
  return {
    tasks: results,
    resolvedRate: results.length === 0 ? 0 : resolved / results.length,
    skipped,
    model,
  };
}

/** A table people read: one line per task, then the rate. */
export function reportTable(report: EvalReport): string {
  const width = Math.max(4, ...report.tasks.map((t) => t.id.length));
  const lines = [
    `${'task'.padEnd(width)}  ${'status'.padEnd(10)}  resolved  ${'cost'.padStart(8)}  turns  ${'time'.padStart(7)}`,
    ...report.tasks.map(
      (t) =>
        `${t.id.padEnd(width)}  ${t.status.padEnd(10)}  ${(t.resolved ? 'yes' : 'no').padEnd(8)}  ${`$${t.costUsd.toFixed(4)}`.padStart(8)}  ${String(t.turns).padStart(5)}  ${`${(t.ms / 1000).toFixed(1)} s`.padStart(7)}`,
    ),
    `resolved ${report.tasks.filter((t) => t.resolved).length} of ${report.tasks.length} (${(report.resolvedRate * 100).toFixed(0)}%) with the ${report.model}${report.skipped.length ? `; ${report.skipped.length} skipped` : ''}`,
  ];
  return lines.join('\n');
}

/** The last line of `--json`: exactly the shape SPEC §7 names. */
export const reportJson = (report: EvalReport): string =>
  JSON.stringify({
    tasks: report.tasks.map(({ id, status, resolved, costUsd, turns, ms }) => ({
      id,
      status,
      resolved,
      costUsd,
      turns,
      ms,
    })),
    resolvedRate: report.resolvedRate,
  });
