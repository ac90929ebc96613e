import { type HistoryEvent, paginateGetExecutionHistory } from '@aws-sdk/client-sfn';
import { LAMBDA_MEMORY_MB } from '../functions/shared/domain/infra-cost';
import { isTerminal, type Run } from '../functions/shared/domain/run';
import { approveThroughPage } from '../local/demo';
import { readMailStore } from '../local/emulators/ses';
import {
  BOT_LOGIN,
  SAMPLE_CI_COMMAND,
  SAMPLE_COLLABORATORS,
  SAMPLE_DEFAULT_BRANCH,
  SAMPLE_REPO_FILES,
  SAMPLE_ISSUE,
  SAMPLE_LABEL,
  SAMPLE_OWNER,
  SAMPLE_REPO,
  SAMPLE_USERS,
} from '../local/forge';
import { SANDBOX_ARN, type Stack } from '../local/stack';
import { type Recorder, portOf, type ServedRequest } from './instrument';
import { type Delivery, type LoadResult, newDeliveryId, openLoop, signAll, startBareVerifier } from './load';
import {
  dynamoKind,
  dynamoUnits,
  type InfraCost,
  type InfraUsage,
  infraCost,
  type LambdaUsage,
  median,
  unionMs,
} from './stats';

export { LAMBDA_MEMORY_MB };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// 1. Webhook ack latency at a fixed rate, next to a bare verify-and-answer server
// ---------------------------------------------------------------------------------------------

export interface WebhookBench {
  ratePerSecond: number;
  durationSeconds: number;
  mix: { ignoredComments: number; duplicateStarts: number };
  gateway: LoadResult;
  bare: LoadResult;
  /** gateway p99 / bare p99, gateway p50 / bare p50. */
  ratioP99: number;
  ratioP50: number;
  /** Runs that the deliveries started (must be exactly 1). */
  runsStarted: number;
  runStatus: string;
}

/** Captures real forge payloads (a label by alice, a plain comment by bob) without delivering them. */
async function capturePayloads(stack: Stack): Promise<{ labeled: string; comment: string }> {
  const { forge } = stack;
  forge.actions.setWebhookUrl(undefined);
  try {
    const before = forge.deliveries().length;
    await forge.actions.labelIssue(
      SAMPLE_USERS.admin,
      SAMPLE_OWNER,
      SAMPLE_REPO,
      SAMPLE_ISSUE.number,
      SAMPLE_LABEL,
    );
    await forge.actions.comment(
      SAMPLE_USERS.writer,
      SAMPLE_OWNER,
      SAMPLE_REPO,
      SAMPLE_ISSUE.number,
      'Thanks, this would help us a lot.',
    );
    await forge.waitForIdle(10_000);
    const fresh = forge.deliveries().slice(before);
    const labeled = fresh.find((d) => d.event === 'issues' && d.action === 'labeled');
    const comment = fresh.find((d) => d.event === 'issue_comment' && d.action === 'created');
    if (!labeled || !comment) throw new Error('the forge did not produce the labeled and comment payloads');
    return { labeled: labeled.body, comment: comment.body };
  } finally {
    forge.actions.setWebhookUrl(stack.webhookUrl);
  }
}

export async function benchWebhook(
  stack: Stack,
  options: { ratePerSecond: number; durationSeconds: number; say: (line: string) => void },
): Promise<WebhookBench> {
  const { ratePerSecond, durationSeconds, say } = options;
  const payloads = await capturePayloads(stack);
  const total = Math.round(ratePerSecond * durationSeconds);
  const startDeliveryId = newDeliveryId();
  // Every 5th delivery is the same `issues.labeled` (one delivery id: GitHub redelivering it); the
  // rest are distinct plain comments, which the ack path records and ignores.
  const build = (count: number, withStarts: boolean): Delivery[] =>
    Array.from({ length: count }, (_, i) =>
      withStarts && i % 5 === 0
        ? { event: 'issues', deliveryId: startDeliveryId, body: payloads.labeled }
        : { event: 'issue_comment', deliveryId: newDeliveryId(), body: payloads.comment },
    );
  const measured = await signAll(stack.webhookSecret, build(total, true));
  const warmup = await signAll(stack.webhookSecret, build(25, false));

  const bare = await startBareVerifier(stack.webhookSecret);
  let bareResult: LoadResult;
  try {
    await openLoop(bare.url, warmup, ratePerSecond);
    say(`  bare verifier: ${total} deliveries at ${ratePerSecond}/s…`);
    bareResult = await openLoop(bare.url, measured, ratePerSecond);
  } finally {
    await bare.close();
  }
  await openLoop(stack.webhookUrl, warmup, ratePerSecond);
  say(`  gateway: ${total} deliveries at ${ratePerSecond}/s…`);
  const gatewayResult = await openLoop(stack.webhookUrl, measured, ratePerSecond);

  // Exactly one run must result; follow it to its end so it does not disturb what comes next.
  const repo = `${SAMPLE_OWNER}/${SAMPLE_REPO}`;
  const run = await until('the run of the duplicated delivery', 15_000, async () => {
    const runs = (await stack.store.listRunsByRepo(repo, { limit: 50 })).items;
    return runs[0];
  });
  const ended = await followToEnd(stack, run.runId, 120_000);
  await sleep(300); // a late duplicate start would show up here
  const runs = (await stack.store.listRunsByRepo(repo, { limit: 50 })).items;
  return {
    ratePerSecond,
    durationSeconds,
    mix: { ignoredComments: measured.length - Math.ceil(total / 5), duplicateStarts: Math.ceil(total / 5) },
    gateway: gatewayResult,
    bare: bareResult,
    ratioP99: gatewayResult.latencyMs.p99 / bareResult.latencyMs.p99,
    ratioP50: gatewayResult.latencyMs.p50 / bareResult.latencyMs.p50,
    runsStarted: runs.length,
    runStatus: ended.status,
  };
}

// ---------------------------------------------------------------------------------------------
// Runs: repos, approvals, following to the end
// ---------------------------------------------------------------------------------------------

/** A copy of the sample repository under a new name, with the sample issue as issue #1. */
export async function createSampleCopy(stack: Stack, name: string): Promise<{ repo: string; issue: number }> {
  const { actions } = stack.forge;
  await actions.createRepo({
    owner: SAMPLE_OWNER,
    name,
    description: 'Code Factory bench copy of the sample repository',
    defaultBranch: SAMPLE_DEFAULT_BRANCH,
    files: SAMPLE_REPO_FILES,
    roles: { ...SAMPLE_COLLABORATORS, [BOT_LOGIN]: 'write' },
    ciCommand: SAMPLE_CI_COMMAND,
    labels: [{ name: SAMPLE_LABEL, color: '5319e7' }],
    author: SAMPLE_ISSUE.author,
  });
  const issue = await actions.createIssue(SAMPLE_ISSUE.author, SAMPLE_OWNER, name, {
    title: SAMPLE_ISSUE.title,
    body: SAMPLE_ISSUE.body,
  });
  return { repo: `${SAMPLE_OWNER}/${name}`, issue: issue.number };
}

const approvedLinks = new Set<string>();

/** Approves, through its emailed link and the real confirmation page, each run of `repos` that waits. */
async function approveWaiting(stack: Stack, repos: ReadonlySet<string>): Promise<number> {
  const store = await readMailStore(stack.mailUrl);
  let approved = 0;
  for (const email of store.emails) {
    const repo = [...repos].find((r) => email.subject.includes(`${r} `));
    if (!repo) continue;
    const link = [...(email.body.text ?? '').matchAll(/https?:\/\/[^\s)>"']+\/approvals\/[^\s)>"']+/g)]
      .map((m) => m[0])
      .find((l) => l.startsWith(stack.url) && l.includes('d=approve'));
    if (!link || approvedLinks.has(link)) continue;
    approvedLinks.add(link);
    const status = await approveThroughPage(link, 'approve');
    if (status < 400) approved += 1;
  }
  return approved;
}

async function followToEnd(stack: Stack, runId: string, timeoutMs: number): Promise<Run> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await stack.store.getRun(runId);
    if (run && isTerminal(run.status)) return run;
    if (run?.status === 'AWAITING_APPROVAL') await approveWaiting(stack, new Set([run.repo]));
    if (Date.now() > deadline)
      throw new Error(`run ${runId} did not end in ${timeoutMs} ms (${run?.status})`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------
// 2 + 4. One full run: orchestration overhead, transitions, infra cost
// ---------------------------------------------------------------------------------------------

async function historyOf(stack: Stack, runId: string): Promise<HistoryEvent[]> {
  const executionArn = `${stack.stateMachineArn.replace(':stateMachine:', ':execution:')}:${runId}`;
  const events: HistoryEvent[] = [];
  for await (const page of paginateGetExecutionHistory(
    { client: stack.sfn, pageSize: 1000 },
    { executionArn, maxResults: 1000 },
  )) {
    events.push(...(page.events ?? []));
    if (events.length > 100_000) break;
  }
  return events;
}

export interface TaskDurations {
  /** Stage-runner invocations: TaskStarted → TaskSucceeded (or TaskSubmitted for callback tasks). */
  stageRunnerMs: number[];
  /** LLM turns: message sent → answer (queue wait + worker), an upper bound of the worker's time. */
  llmTurnMs: number[];
  /** Sandbox function invocations (the agent's commands and checks): TaskStarted → done. */
  sandboxMs: number[];
  transitions: number;
}

/** Reads Lambda and LLM task durations off an execution history (tasks run one at a time per run). */
export function taskDurations(events: HistoryEvent[]): TaskDurations {
  const stageRunnerMs: number[] = [];
  const llmTurnMs: number[] = [];
  const sandboxMs: number[] = [];
  let transitions = 0;
  let current: { type: string; started?: number; submitted?: number; done?: boolean } | undefined;
  for (const event of events) {
    const at = event.timestamp ? new Date(event.timestamp).getTime() : 0;
    if (event.type?.endsWith('StateEntered')) transitions += 1;
    if (event.type === 'TaskScheduled') {
      const details = event.taskScheduledEventDetails;
      const sandbox = details?.resourceType === 'lambda' && details.parameters?.includes(SANDBOX_ARN);
      current = { type: sandbox ? 'sandbox' : (details?.resourceType ?? '') };
    } else if (event.type === 'TaskStarted' && current) {
      current.started = at;
    } else if (event.type === 'TaskSubmitted' && current?.started !== undefined) {
      current.submitted = at;
      if (current.type === 'lambda') stageRunnerMs.push(at - current.started);
    } else if (
      (event.type === 'TaskSucceeded' || event.type === 'TaskFailed' || event.type === 'TaskTimedOut') &&
      current?.started !== undefined &&
      !current.done
    ) {
      current.done = true;
      if (current.type === 'lambda' && current.submitted === undefined)
        stageRunnerMs.push(at - current.started);
      if (current.type === 'sqs') llmTurnMs.push(at - (current.submitted ?? current.started));
      if (current.type === 'sandbox') sandboxMs.push(at - current.started);
    }
  }
  return { stageRunnerMs, llmTurnMs, sandboxMs, transitions };
}

export interface RequestCounts {
  dynamo: {
    writes: number;
    reads: number;
    writeUnits: number;
    readUnits: number;
    byOperation: Record<string, number>;
  };
  sqs: { requests: number; receivePolls: number; byOperation: Record<string, number> };
  sesEmails: number;
  /** REST calls to the forge (GitHub's API and codeload), the webhook deliveries' answers excluded. */
  githubCalls: number;
  /** Of which reading the repository's files (tarball, trees, contents, blobs). */
  githubReadCalls: number;
  modelCalls: number;
  modelMs: number;
  webhookMs: number[];
  approvalsMs: number[];
  apiMs: number[];
}

export function countRequests(served: ServedRequest[], stack: Stack): RequestCounts {
  const ports = {
    dynamo: portOf(stack.endpoints.dynamodb),
    sqs: portOf(stack.endpoints.sqs),
    ses: portOf(stack.endpoints.ses),
    gateway: portOf(stack.url),
    model: stack.model ? portOf(stack.model.url) : -1,
    forge: portOf(stack.forgeUrl),
  };
  const counts: RequestCounts = {
    dynamo: { writes: 0, reads: 0, writeUnits: 0, readUnits: 0, byOperation: {} },
    sqs: { requests: 0, receivePolls: 0, byOperation: {} },
    sesEmails: 0,
    githubCalls: 0,
    githubReadCalls: 0,
    modelCalls: 0,
    modelMs: 0,
    webhookMs: [],
    approvalsMs: [],
    apiMs: [],
  };
  for (const r of served) {
    const operation = r.target.split('.').pop() ?? r.path;
    const ms = r.endedAt - r.startedAt;
    if (r.port === ports.dynamo) {
      const kind = dynamoKind(r.target);
      counts.dynamo.byOperation[operation] = (counts.dynamo.byOperation[operation] ?? 0) + 1;
      if (kind === 'write') {
        counts.dynamo.writes += 1;
        counts.dynamo.writeUnits += dynamoUnits(kind, r.requestBytes);
      } else if (kind === 'read') {
        counts.dynamo.reads += 1;
        counts.dynamo.readUnits += dynamoUnits(kind);
      }
    } else if (r.port === ports.sqs) {
      counts.sqs.byOperation[operation] = (counts.sqs.byOperation[operation] ?? 0) + 1;
      if (operation === 'ReceiveMessage') counts.sqs.receivePolls += 1;
      else counts.sqs.requests += 1;
    } else if (r.port === ports.ses && r.method === 'POST' && !r.path.startsWith('/store')) {
      counts.sesEmails += 1;
    } else if (
      r.port === ports.forge &&
      (r.path.startsWith('/api/v3/') || r.path.startsWith('/_codeload/'))
    ) {
      counts.githubCalls += 1;
      if (/\/(tarball|git\/trees|git\/blobs|contents)(\/|$)|^\/_codeload\//.test(r.path))
        counts.githubReadCalls += 1;
    } else if (r.port === ports.model && r.path === '/v1/messages') {
      counts.modelCalls += 1;
      counts.modelMs += ms;
    } else if (r.port === ports.gateway) {
      if (r.path === '/v1/webhooks/github') counts.webhookMs.push(ms);
      else if (r.path.startsWith('/approvals/')) counts.approvalsMs.push(ms);
      else if (r.path.startsWith('/v1/')) counts.apiMs.push(ms);
    }
  }
  return counts;
}

export interface RunBench {
  runId: string;
  status: string;
  modelLatencyMs: number;
  wallMs: number;
  modelMs: number;
  ciMs: number;
  /** The sandbox function's time (the agent's commands and checks), excluded like model and CI time. */
  sandboxMs: number;
  /** Approval email sent → approval POST received (the emulated human). */
  humanMs: number;
  overheadMs: number;
  /** The overhead spread over the model turns (SPEC §8: ≤ 100 ms a turn). */
  overheadPerTurnMs: number;
  transitions: number;
  /** Transitions per model call (SPEC §8: ≤ 4 per call + 10 for the run). */
  transitionsPerTurn: number;
  llmCalls: number;
  modelCostUsd: number;
  requests: RequestCounts;
  usage: InfraUsage;
  infra: InfraCost;
  /** Median stage-runner invocation and LLM turn (ms). */
  medianStageRunnerMs: number;
  medianLlmTurnMs: number;
}

/** The demo's run on a fresh copy of the sample repo, with `modelLatencyMs` added to every model answer. */
export async function benchOneRun(
  stack: Stack,
  recorder: Recorder,
  options: { modelLatencyMs: number; name: string },
): Promise<RunBench> {
  const { repo, issue } = await createSampleCopy(stack, options.name);
  const [owner = '', name = ''] = repo.split('/');
  const modelPort = stack.model ? portOf(stack.model.url) : -1;
  recorder.setDelay(modelPort, '/v1/messages', options.modelLatencyMs);
  const mark = recorder.mark();
  const started = Date.now();
  // The forge stamps check runs to the second, as GitHub does: watch them at 10 ms instead.
  const ciSeen = new Map<number, { from: number; to?: number }>();
  const ciWatch = setInterval(() => {
    for (const check of stack.forge.service.repos.get(owner, name).checkRuns) {
      const seen = ciSeen.get(check.id) ?? { from: performance.now() };
      if (check.status === 'completed' && seen.to === undefined) seen.to = performance.now();
      ciSeen.set(check.id, seen);
    }
  }, 10);
  try {
    await stack.forge.actions.labelIssue(SAMPLE_USERS.admin, owner, name, issue, SAMPLE_LABEL);
    const first = await until('the run to start', 15_000, async () => {
      const runs = (await stack.store.listRunsByRepo(repo, { limit: 5 })).items;
      return runs[0];
    });
    const run = await followToEnd(stack, first.runId, 180_000);
    const endedAt = run.endedAt ? Date.parse(run.endedAt) : Date.now();
    await sleep(200); // let the last answers finish so their requests are counted
    const served = recorder.since(mark);
    const requests = countRequests(served, stack);

    clearInterval(ciWatch);
    const ciMs = unionMs(
      [...ciSeen.values()].filter((c) => c.to !== undefined).map((c) => [c.from, c.to as number] as const),
    );
    const sesPort = portOf(stack.endpoints.ses);
    const gatewayPort = portOf(stack.url);
    const emailSent = served.find(
      (r) => r.port === sesPort && r.method === 'POST' && !r.path.startsWith('/store'),
    );
    const approvalPost = served.find(
      (r) => r.port === gatewayPort && r.method === 'POST' && r.path.startsWith('/approvals/'),
    );
    const humanMs = emailSent && approvalPost ? Math.max(0, approvalPost.startedAt - emailSent.endedAt) : 0;

    const history = await historyOf(stack, run.runId);
    const tasks = taskDurations(history);
    const wallMs = endedAt - started;
    const lambdas: LambdaUsage[] = [
      { name: 'webhook', memoryMb: LAMBDA_MEMORY_MB.webhook, durationsMs: requests.webhookMs },
      { name: 'approvals', memoryMb: LAMBDA_MEMORY_MB.approvals, durationsMs: requests.approvalsMs },
      { name: 'api', memoryMb: LAMBDA_MEMORY_MB.api, durationsMs: requests.apiMs },
      { name: 'stages', memoryMb: LAMBDA_MEMORY_MB.stages, durationsMs: tasks.stageRunnerMs },
      { name: 'llm-worker', memoryMb: LAMBDA_MEMORY_MB.llmWorker, durationsMs: tasks.llmTurnMs },
      { name: 'sandbox', memoryMb: LAMBDA_MEMORY_MB.sandbox, durationsMs: tasks.sandboxMs },
    ];
    const usage: InfraUsage = {
      transitions: tasks.transitions,
      lambdas,
      dynamoWriteUnits: requests.dynamo.writeUnits,
      dynamoReadUnits: requests.dynamo.readUnits,
      // Per-run requests; the event source's idle long polls are a fixed cost per hour, not per run.
      sqsRequests: requests.sqs.requests + Math.min(requests.sqs.receivePolls, tasks.llmTurnMs.length),
    };
    const sandboxMs = tasks.sandboxMs.reduce((sum, ms) => sum + ms, 0);
    const overheadMs = wallMs - requests.modelMs - ciMs - humanMs - sandboxMs;
    const turns = Math.max(1, run.ledger.llmCalls);
    return {
      runId: run.runId,
      status: run.status,
      modelLatencyMs: options.modelLatencyMs,
      wallMs,
      modelMs: requests.modelMs,
      ciMs,
      sandboxMs,
      humanMs,
      overheadMs,
      overheadPerTurnMs: overheadMs / turns,
      transitions: tasks.transitions,
      transitionsPerTurn: tasks.transitions / turns,
      llmCalls: run.ledger.llmCalls,
      modelCostUsd: run.ledger.costUsd,
      requests,
      usage,
      infra: infraCost(usage),
      medianStageRunnerMs: median(tasks.stageRunnerMs),
      medianLlmTurnMs: median(tasks.llmTurnMs),
    };
  } finally {
    clearInterval(ciWatch);
    recorder.clearDelays();
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Concurrent runs
// ---------------------------------------------------------------------------------------------

export interface ConcurrentBench {
  runs: number;
  repos: number;
  totalMs: number;
  statuses: Record<string, number>;
  succeeded: number;
  lost: number;
  /** Median and max of each run's own duration (created → ended). */
  medianRunMs: number;
  maxRunMs: number;
}

export async function benchConcurrent(
  stack: Stack,
  options: { runs: number; timeoutMs: number; say: (line: string) => void },
): Promise<ConcurrentBench> {
  const copies = [];
  for (let i = 1; i <= options.runs; i++) copies.push(await createSampleCopy(stack, `bench-many-${i}`));
  const repos = new Set(copies.map((c) => c.repo));
  const started = Date.now();
  await Promise.all(
    copies.map(({ repo, issue }) => {
      const [owner = '', name = ''] = repo.split('/');
      return stack.forge.actions.labelIssue(SAMPLE_USERS.admin, owner, name, issue, SAMPLE_LABEL);
    }),
  );
  const deadline = started + options.timeoutMs;
  let runs: Run[] = [];
  let lastSay = 0;
  for (;;) {
    runs = (
      await Promise.all(
        copies.map(async ({ repo }) => (await stack.store.listRunsByRepo(repo, { limit: 5 })).items),
      )
    ).flat();
    if (runs.some((r) => r.status === 'AWAITING_APPROVAL')) await approveWaiting(stack, repos);
    const ended = runs.filter((r) => isTerminal(r.status)).length;
    if (ended === options.runs && runs.length === options.runs) break;
    if (Date.now() > deadline) break;
    if (Date.now() - lastSay > 5000) {
      options.say(`  ${ended}/${options.runs} runs ended (${runs.length} started)…`);
      lastSay = Date.now();
    }
    await sleep(100);
  }
  const totalMs = Math.max(...runs.map((r) => (r.endedAt ? Date.parse(r.endedAt) : Date.now()))) - started;
  const statuses: Record<string, number> = {};
  for (const r of runs) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const durations = runs
    .filter((r) => r.endedAt)
    .map((r) => Date.parse(r.endedAt as string) - Date.parse(r.createdAt));
  return {
    runs: options.runs,
    repos: repos.size,
    totalMs,
    statuses,
    succeeded: statuses.SUCCEEDED ?? 0,
    lost: options.runs - runs.filter((r) => isTerminal(r.status)).length,
    medianRunMs: median(durations),
    maxRunMs: durations.length ? Math.max(...durations) : Number.NaN,
  };
}
