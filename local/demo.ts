import { DescribeExecutionCommand, GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import { Command } from 'commander';
import { isTerminal, type Run, type RunStatus } from '../functions/shared/domain/run';
import { SAMPLE_ISSUE, SAMPLE_LABEL, SAMPLE_OWNER, SAMPLE_REPO, SAMPLE_USERS } from './forge';
import { readMailStore } from './emulators/ses';
import { type Scenario, type SeededPull, scenarioNamed } from './model/scenarios';
import { type Stack, startStack } from './stack';
import {
  modelChoiceOrExit,
  type ProviderStackOptions,
  providerOptions,
  providerOptionsOrExit,
  withModelOptions,
} from './model/choice';

/**
 * `npm run demo -- [--auto-approve] [--json] [--scenario NAME|list] [--model-script FILE]
 * [--provider anthropic|bedrock|openai-compatible] [--model NAME] [--llm-faults 429,529,500,reset]
 * [--unsafe-sandbox]`
 * Boots the embedded stack in a temp dir, labels the sample issue (a signed webhook from the
 * forge), follows the run to its end — answering questions and approving through the real
 * endpoints with --auto-approve, or printing the links and waiting — then stops everything. The
 * stand-in plays the scenario (`sample` by default) or the model script. The last line of stdout
 * is one JSON object (SPEC §7) that also names the scenario and the status it expects; the exit
 * code is 0 only when the run reached that status (SUCCEEDED for the sample or a real model).
 */

/** What --auto-approve answers when the plan asks (as the issue's author). */
export const DEMO_ANSWER =
  "Keep only a-z and 0-9: other characters, accented letters included, are separators. slugify('') returns ''. No length cap.";

export interface DemoResult {
  runId: string;
  status: string;
  prUrl: string | null;
  mergedSha: string | null;
  costUsd: number;
  durationMs: number;
  stages: Array<{ name: string; status: string; ms: number }>;
  ledger: Run['ledger'];
  transitions: number;
  /** The model scenario played (null with a real model). */
  scenario: string | null;
  /** The status the scenario declares: the demo exits 0 when the run reached it. */
  expectedStatus: RunStatus;
  /** Only for a run on someone's pull request (a review or follow-up scenario): its kind. */
  kind?: Run['kind'];
  /** A follow-up scenario: the run it superseded, and that run's approval links (now stale). */
  superseded?: { runId: string; status: RunStatus; approvalLinks: string[] };
  /** A review run: the pull request it reviewed (it opens none, and merges nothing). */
  reviewedPr?: { number: number; url: string | null };
  /** A rescue run: the pull request it fixed on its own branch (it opens none, and merges nothing). */
  rescuedPr?: { number: number; url: string | null };
}

const POLL_MS = 200;

const progress = (json: boolean) => (line: string) => {
  // With --json, stdout carries only the result: progress goes to stderr.
  (json ? process.stderr : process.stdout).write(`${line}\n`);
};

async function waitForRun(stack: Stack, since: number, deadline: number): Promise<Run> {
  for (;;) {
    const runs = await stack.store.listRunsByRepo(`${SAMPLE_OWNER}/${SAMPLE_REPO}`, { limit: 5 });
    const run = runs.items.find((r) => Date.parse(r.createdAt) >= since - 1000);
    if (run) return run;
    if (Date.now() > deadline) throw new Error('no run started: the webhook was not accepted');
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** The run that follows `run` on its work item (a follow-up started from its PR). */
async function waitForNextRun(stack: Stack, run: Run, deadline: number): Promise<Run> {
  for (;;) {
    const { runs } = await stack.store.getWorkItemWithRuns(run.workItemKey, { limit: 1 });
    const next = runs.items[0];
    if (next && next.runId !== run.runId) return next;
    if (Date.now() > deadline) throw new Error('no follow-up run started: the comment was not accepted');
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** The approval links mailed by this stack (its mail store is fresh per demo), newest first. */
export async function approvalLinks(stack: Stack): Promise<string[]> {
  const store = await readMailStore(stack.mailUrl);
  const pattern = new RegExp(
    `${stack.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/approvals/[^\\s)>"']+`,
    'g',
  );
  return store.emails
    .flatMap((email) => [...(email.body.text ?? '').matchAll(pattern)].map((m) => m[0]))
    .reverse();
}

/** Opens the confirmation page like a browser and submits its form with the decision. */
export async function approveThroughPage(
  link: string,
  decision: 'approve' | 'reject' = 'approve',
  comment?: string,
): Promise<number> {
  const page = await fetch(link, { headers: { 'user-agent': 'code-factory-demo' } });
  const html = await page.text();
  // The page has one form per decision, each with its own anti-CSRF token.
  const form = [...html.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/gi)].find((f) =>
    (f[2] ?? '').includes(`name="decision" value="${decision}"`),
  );
  if (!form?.[1] || !form[2])
    throw new Error(`no ${decision} form on the approval page (HTTP ${page.status})`);
  const fields = new URLSearchParams();
  for (const input of form[2].matchAll(/<input[^>]*>/gi)) {
    const name = input[0].match(/name="([^"]+)"/)?.[1];
    const value = input[0].match(/value="([^"]*)"/)?.[1] ?? '';
    if (!name) continue;
    fields.set(
      name,
      value
        .replace(/&amp;/g, '&')
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'"),
    );
  }
  fields.set('decision', decision);
  if (comment !== undefined) fields.set('comment', comment);
  const action = new URL(form[1].replace(/&amp;/g, '&'), link).toString();
  const response = await fetch(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'code-factory-demo' },
    body: fields.toString(),
  });
  return response.status;
}

/** A scenario's pull request by someone else: its branch from main, then the PR. */
async function openSeededPull(stack: Stack, pull: SeededPull): Promise<number> {
  const { author, branch, title, body, files } = pull;
  await stack.forge.actions.pushCommit(author, SAMPLE_OWNER, SAMPLE_REPO, branch, files, title);
  const opened = await stack.forge.actions.openPull(author, SAMPLE_OWNER, SAMPLE_REPO, {
    title,
    body,
    head: branch,
    base: 'main',
  });
  return opened.number;
}

const executionArnOf = (stack: Stack, runId: string): string =>
  `${stack.stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`;

/**
 * A run is written terminal before its execution's last states have settled it (status comment,
 * cleanup): the demo reports, counts transitions and inspects only once the execution has ended.
 */
async function waitForExecutionEnd(stack: Stack, runId: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const { status } = await stack.sfn
      .send(new DescribeExecutionCommand({ executionArn: executionArnOf(stack, runId) }))
      .catch(() => ({ status: undefined })); // no execution (the run ended before one started)
    if (status !== 'RUNNING') return;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export async function transitionsOf(stack: Stack, runId: string): Promise<number> {
  let count = 0;
  let nextToken: string | undefined;
  for (let page = 0; page < 100; page++) {
    const history = await stack.sfn.send(
      new GetExecutionHistoryCommand({
        executionArn: executionArnOf(stack, runId),
        maxResults: 1000,
        ...(nextToken ? { nextToken } : {}),
      }),
    );
    count += (history.events ?? []).filter((e) => e.type?.endsWith('StateEntered')).length;
    nextToken = history.nextToken;
    if (!nextToken) break;
  }
  return count;
}

export async function runDemo(options: {
  autoApprove: boolean;
  json: boolean;
  llmFaults?: string;
  timeoutMs?: number;
  unsafeSandbox?: boolean;
  /** Provider and model (`--provider`, `--model`); default: from the environment, anthropic. */
  models?: { stack: ProviderStackOptions; real: boolean };
  /** The stand-in's scenario (default `sample`); ignored with a real model (ANTHROPIC_API_KEY). */
  scenario?: Scenario;
  /** Called with the stack and the result before the stack stops (tests read the model's calls). */
  inspect?: (stack: Stack, result: DemoResult) => void | Promise<void>;
}): Promise<DemoResult> {
  const say = progress(options.json);
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 10 * 60_000);
  const models = options.models ?? providerOptions({}, process.env);
  const scenario = models.real ? undefined : (options.scenario ?? scenarioNamed('sample'));
  const stack = await startStack({
    ...(options.llmFaults ? { llmFaults: options.llmFaults } : {}),
    ...models.stack,
    ...(scenario ? { modelScript: scenario.script } : {}),
    ...(options.unsafeSandbox ? { unsafeSandbox: true } : {}),
  });
  try {
    say(`Embedded stack up at ${stack.url} (forge ${stack.forgeUrl}, mail ${stack.mailUrl}/store)`);
    if (scenario) say(`Model stand-in playing scenario ${scenario.name}: ${scenario.description}`);
    if (scenario?.files) {
      await stack.forge.actions.pushCommit(
        SAMPLE_USERS.admin,
        SAMPLE_OWNER,
        SAMPLE_REPO,
        'main',
        scenario.files,
        `Set up the ${scenario.name} scenario`,
      );
      say(`Committed ${Object.keys(scenario.files).join(', ')} to main for the scenario`);
    }
    const triggered = Date.now();
    if (scenario?.pullRequest) {
      const command = `/factory ${scenario.pullCommand ?? 'review'}`;
      const number = await openSeededPull(stack, scenario.pullRequest);
      say(`Opened #${number} "${scenario.pullRequest.title}" as ${scenario.pullRequest.author}`);
      if (scenario.pullCommand === 'rescue') {
        // A rescue is asked for once CI has failed on the PR, as a person would.
        await stack.forge.waitForIdle(120_000);
        say(`CI finished on #${number}`);
      }
      say(`Commenting ${command} on #${number} as ${SAMPLE_USERS.admin}…`);
      await stack.forge.actions.comment(SAMPLE_USERS.admin, SAMPLE_OWNER, SAMPLE_REPO, number, command);
    } else {
      say(
        `Labelling ${SAMPLE_OWNER}/${SAMPLE_REPO}#${SAMPLE_ISSUE.number} "${SAMPLE_ISSUE.title}" as ${SAMPLE_USERS.admin}…`,
      );
      await stack.forge.actions.labelIssue(
        SAMPLE_USERS.admin,
        SAMPLE_OWNER,
        SAMPLE_REPO,
        SAMPLE_ISSUE.number,
        SAMPLE_LABEL,
      );
    }
    let run = await waitForRun(stack, triggered, deadline);
    say(`Run ${run.runId} started`);

    let lastLine = '';
    let approved = false;
    let announced = false;
    let answered = 0;
    let superseded: DemoResult['superseded'];
    while (!isTerminal(run.status)) {
      if (Date.now() > deadline) throw new Error(`the run did not finish in time (status ${run.status})`);
      const line = `  ${run.status.padEnd(24)} stage ${run.stage ?? '-'}`;
      if (line !== lastLine) say(line);
      lastLine = line;
      if (run.status === 'AWAITING_CLARIFICATION') {
        // A round is asked once its wait is stored and its comment posted (event clarify.asked).
        const asked = (await stack.store.listEvents(run.runId, { limit: 500 })).items.filter(
          (e) => e.type === 'clarify.asked',
        ).length;
        if (asked > answered && options.autoApprove) {
          await stack.forge.actions.comment(
            SAMPLE_ISSUE.author,
            SAMPLE_OWNER,
            SAMPLE_REPO,
            SAMPLE_ISSUE.number,
            DEMO_ANSWER,
          );
          say(`  answered the questions as @${SAMPLE_ISSUE.author}`);
        } else if (asked > answered) {
          say(
            `\nAnswer the questions on the issue:\n  ${stack.forgeUrl}/${SAMPLE_OWNER}/${SAMPLE_REPO}/issues/${SAMPLE_ISSUE.number}\n`,
          );
        }
        answered = asked;
      }
      if (run.status === 'AWAITING_APPROVAL' && scenario?.followUp && !superseded && run.prNumber) {
        // Instead of approving, ask for more on the PR: a follow-up run supersedes this one.
        const links = await approvalLinks(stack);
        if (links.length > 0) {
          const ask = scenario.followUp;
          if ('comment' in ask) {
            say(`  commenting ${ask.comment} on #${run.prNumber} as @${ask.author}…`);
            await stack.forge.actions.comment(
              ask.author,
              SAMPLE_OWNER,
              SAMPLE_REPO,
              run.prNumber,
              ask.comment,
            );
          } else {
            say(`  requesting changes on #${run.prNumber} as @${ask.author}…`);
            await stack.forge.actions.review(ask.author, SAMPLE_OWNER, SAMPLE_REPO, run.prNumber, {
              event: 'REQUEST_CHANGES',
              ...ask.review,
            });
          }
          const next = await waitForNextRun(stack, run, deadline);
          const before = (await stack.store.getRun(run.runId)) ?? run;
          superseded = { runId: before.runId, status: before.status, approvalLinks: links };
          say(`Run ${before.runId} ${before.status}; follow-up run ${next.runId} started`);
          run = next;
          continue;
        }
      } else if (run.status === 'AWAITING_APPROVAL') {
        const links = (await approvalLinks(stack)).filter((l) => !superseded?.approvalLinks.includes(l));
        const link = links.find((l) => l.includes('d=approve')) ?? links[0];
        if (link && options.autoApprove && !approved) {
          const status = await approveThroughPage(link, 'approve');
          say(`  approved through the approval page (HTTP ${status})`);
          approved = status < 400;
        } else if (link && !options.autoApprove && !announced) {
          say(`\nApprove or reject in your browser:\n  ${link}\n`);
          announced = true;
        }
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
      run = (await stack.store.getRun(run.runId)) ?? run;
    }
    await waitForExecutionEnd(stack, run.runId, deadline);
    run = (await stack.store.getRun(run.runId)) ?? run;

    const result: DemoResult = {
      runId: run.runId,
      status: run.status,
      prUrl: run.prUrl ?? null,
      mergedSha: run.mergedSha ?? null,
      costUsd: run.ledger.costUsd,
      durationMs: Date.now() - triggered,
      stages: run.stages.map((s) => ({ name: s.name, status: s.status, ms: s.ms ?? 0 })),
      ledger: run.ledger,
      transitions: await transitionsOf(stack, run.runId),
      scenario: scenario?.name ?? null,
      expectedStatus: scenario?.expect ?? 'SUCCEEDED',
      // The SPEC §7 shape stays as it is for change runs.
      ...(run.kind === 'review' && run.prNumber
        ? { kind: run.kind, reviewedPr: { number: run.prNumber, url: run.prUrl ?? null } }
        : {}),
      ...(run.kind === 'rescue' && run.prNumber
        ? { kind: run.kind, rescuedPr: { number: run.prNumber, url: run.prUrl ?? null } }
        : {}),
      ...(superseded ? { kind: run.kind, superseded } : {}),
    };
    say(`Run ${run.status}${run.error ? ` (${run.error.class}: ${run.error.cause.split('\n')[0]})` : ''}`);
    say(
      run.status === result.expectedStatus
        ? `As the scenario expects (${result.expectedStatus})`
        : `The scenario expects ${result.expectedStatus}, not ${run.status}`,
    );
    if (run.prUrl)
      say(`Pull request: ${run.prUrl}${run.mergedSha ? ` merged as ${run.mergedSha.slice(0, 7)}` : ''}`);
    const sandboxTime = run.ledger.sandboxSeconds
      ? ` and ${run.ledger.sandboxSeconds.toFixed(1)} s of sandbox time`
      : '';
    say(`Cost: $${run.ledger.costUsd.toFixed(4)} over ${run.ledger.llmCalls} model calls${sandboxTime}`);
    await options.inspect?.(stack, result);
    return result;
  } finally {
    await stack.stop();
  }
}

const isMain =
  process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop() ?? '');
if (isMain) {
  const program = new Command()
    .name('demo')
    .description('Runs Code Factory end to end on the embedded stack: sample issue -> merged PR.')
    .option('--auto-approve', 'approve through the approval page automatically', false)
    .option('--json', 'print only the result JSON on stdout (progress on stderr)', false)
    .option('--llm-faults <list>', 'inject model faults into the first calls: 429,529,500,reset')
    .option('--timeout <seconds>', 'give up after this long', '600');
  withModelOptions(program).parse();
  const opts = program.opts<{
    autoApprove: boolean;
    json: boolean;
    scenario?: string;
    modelScript?: string;
    provider?: string;
    model?: string;
    llmFaults?: string;
    timeout: string;
    unsafeSandbox: boolean;
  }>();
  const choice = await modelChoiceOrExit(opts, process.env);
  const models = providerOptionsOrExit(opts, process.env);
  runDemo({
    models,
    autoApprove: opts.autoApprove,
    json: opts.json,
    ...(choice.scenario ? { scenario: choice.scenario } : {}),
    ...(opts.llmFaults ? { llmFaults: opts.llmFaults } : {}),
    timeoutMs: Number(opts.timeout) * 1000,
    unsafeSandbox: opts.unsafeSandbox,
  })
    .then((result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(result.status === result.expectedStatus ? 0 : 1);
    })
    .catch((error: unknown) => {
      process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
