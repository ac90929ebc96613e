import { Command } from 'commander';
import { startStack } from '../local/stack';
import { type BundleFigure, benchBundles } from './bundles';
import { installRecorder } from './instrument';
import { benchLlmRate, type LlmRateBench } from './llm-rate';
import {
  benchConcurrent,
  benchOneRun,
  benchWebhook,
  type ConcurrentBench,
  type RunBench,
  type WebhookBench,
} from './stack-bench';
import { round } from './stats';
import { benchSandbox, type SandboxBench } from './sandbox';
import { benchWorkbench, type WorkbenchBench } from './workbench';

/**
 * `npm run bench [-- --json] [--only webhook,run,concurrent,bundles,llm,workbench,sandbox]`: the figures of SPEC §8
 * measured on the embedded stack in one bounded run. Progress goes to stderr, the table to stdout,
 * and with --json the last stdout line is one JSON object with every figure.
 * See docs/performance.md for what each figure means.
 */

const PARTS = ['webhook', 'run', 'concurrent', 'bundles', 'llm', 'workbench', 'sandbox'] as const;
type Part = (typeof PARTS)[number];

interface Options {
  json: boolean;
  only: Part[];
  rate: number;
  seconds: number;
  modelLatencyMs: number;
  runs: number;
  llmLimit: number;
  llmWindow: number;
}

interface Results {
  date: string;
  node: string;
  webhook?: WebhookBench;
  run?: RunBench;
  concurrent?: ConcurrentBench;
  bundles?: BundleFigure[];
  llm?: LlmRateBench;
  workbench?: WorkbenchBench;
  sandbox?: SandboxBench;
  targets: Record<string, { target: string; value: number | string; met: boolean }>;
  errors: Record<string, string>;
}

const say = (line: string) => process.stderr.write(`${line}\n`);

async function measure(options: Options): Promise<Results> {
  const results: Results = {
    date: new Date().toISOString(),
    node: process.version,
    targets: {},
    errors: {},
  };
  const wants = (part: Part) => options.only.includes(part);
  const attempt = async (part: Part, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      results.errors[part] = error instanceof Error ? error.message : String(error);
      say(`  ${part} failed: ${results.errors[part]}`);
    }
  };

  if (wants('webhook') || wants('run') || wants('concurrent')) {
    const recorder = installRecorder();
    say('Starting the embedded stack…');
    const stack = await startStack({ ciTimeoutMs: 60_000 });
    try {
      if (wants('webhook'))
        await attempt('webhook', async () => {
          say(`1. Webhook ack latency at ${options.rate}/s for ${options.seconds} s`);
          results.webhook = await benchWebhook(stack, {
            ratePerSecond: options.rate,
            durationSeconds: options.seconds,
            say,
          });
        });
      if (wants('run'))
        await attempt('run', async () => {
          say(`2. One full run with ${options.modelLatencyMs} ms added to each model answer`);
          results.run = await benchOneRun(stack, recorder, {
            modelLatencyMs: options.modelLatencyMs,
            name: 'bench-solo',
          });
        });
      if (wants('concurrent'))
        await attempt('concurrent', async () => {
          say(`3. ${options.runs} concurrent runs, one per repository copy`);
          results.concurrent = await benchConcurrent(stack, { runs: options.runs, timeoutMs: 240_000, say });
        });
    } finally {
      await stack.stop();
    }
  }
  if (wants('workbench'))
    await attempt('workbench', async () => {
      say('6. The workspace tools on a generated 5,000-file (50 MB) repository');
      results.workbench = await benchWorkbench();
    });
  if (wants('sandbox'))
    await attempt('sandbox', async () => {
      say("7. The local sandbox: the sample's node --test, round trip");
      results.sandbox = await benchSandbox();
    });
  if (wants('bundles'))
    await attempt('bundles', async () => {
      say('5. Lambda bundles: size and cold import');
      results.bundles = await benchBundles({ importSamples: 5 });
    });
  if (wants('llm'))
    await attempt('llm', async () => {
      // A rolling-minute limit admits a burst of N at once: shorter windows overstate the rate.
      if (options.llmWindow < 60) throw new Error('--llm-window must be at least 60 s');
      say(
        `6. Model calls/min against a stand-in limited to ${options.llmLimit}/min (${options.llmWindow} s)`,
      );
      results.llm = await benchLlmRate({
        limitPerMinute: options.llmLimit,
        queuedTurns: Math.ceil(options.llmLimit * (options.llmWindow / 60) * 1.25),
        windowSeconds: options.llmWindow,
        say,
      });
    });

  const t = results.targets;
  if (results.webhook) {
    t.webhookP99 = {
      target: '< 100 ms',
      value: round(results.webhook.gateway.latencyMs.p99),
      met: results.webhook.gateway.latencyMs.p99 < 100,
    };
    t.webhookP99Aim = {
      target: '≤ 25 ms (aim)',
      value: round(results.webhook.gateway.latencyMs.p99),
      met: results.webhook.gateway.latencyMs.p99 <= 25,
    };
    t.webhookExactlyOneRun = {
      target: '1 run',
      value: results.webhook.runsStarted,
      met: results.webhook.runsStarted === 1,
    };
  }
  if (results.run) {
    t.overhead = {
      target: '< 2000 ms',
      value: round(results.run.overheadMs, 0),
      met: results.run.overheadMs < 2000,
    };
    const { transitions, llmCalls } = results.run;
    t.transitions = {
      target: `≤ 4 per model call + 10 (${4 * llmCalls + 10})`,
      value: transitions,
      met: transitions <= 4 * llmCalls + 10,
    };
    t.githubReadCalls = {
      target: '≤ 10',
      value: results.run.requests.githubReadCalls,
      met: results.run.requests.githubReadCalls <= 10,
    };
    t.overheadPerTurn = {
      target: '≤ 100 ms',
      value: round(results.run.overheadPerTurnMs, 0),
      met: results.run.overheadPerTurnMs <= 100,
    };
  }
  if (results.workbench) {
    const w = results.workbench;
    t.grep = { target: '< 1000 ms', value: round(w.grepMs, 0), met: w.grepMs < 1000 };
    t.readFile = { target: '< 200 ms', value: round(w.readFileMs, 0), met: w.readFileMs < 200 };
    t.tenParallelGreps = {
      target: '< 5000 ms',
      value: round(w.tenParallelGrepsMs, 0),
      met: w.tenParallelGrepsMs < 5000,
    };
  }
  if (results.concurrent) {
    t.concurrentAllSucceeded = {
      target: `${results.concurrent.runs} SUCCEEDED, 0 lost`,
      value: `${results.concurrent.succeeded} SUCCEEDED, ${results.concurrent.lost} lost`,
      met: results.concurrent.succeeded === results.concurrent.runs && results.concurrent.lost === 0,
    };
  }
  if (results.bundles) {
    const over = results.bundles.filter((b) => !b.withinLimit).map((b) => b.name);
    t.bundles = {
      target: '≤ 1 MB (webhook ≤ 300 KB)',
      value: over.length ? `over: ${over.join(', ')}` : 'all within',
      met: over.length === 0,
    };
  }
  if (results.llm) {
    t.llmRate = {
      target: '≥ 90% of N',
      value: round(results.llm.percentOfLimit, 1),
      met: results.llm.percentOfLimit >= 90,
    };
    t.llm429 = {
      target: '< 2% 429',
      value: round(results.llm.percent429, 1),
      met: results.llm.percent429 < 2,
    };
  }
  return results;
}

const ms = (n: number) => `${round(n, 1)} ms`;
const kb = (n: number) => `${round(n / 1024, 1)} KB`;
const usd = (n: number) => `$${n.toFixed(6)}`;

function table(results: Results): string {
  const rows: Array<[string, string]> = [];
  const section = (title: string) => rows.push([`— ${title}`, '']);
  const { webhook, run, concurrent, bundles, llm, workbench, sandbox } = results;
  if (webhook) {
    section(`1. webhook ack, ${webhook.gateway.sent} deliveries at ${webhook.ratePerSecond}/s (open loop)`);
    for (const [label, r] of [
      ['gateway', webhook.gateway],
      ['bare verifier', webhook.bare],
    ] as const) {
      rows.push([
        `${label} p50 / p99 / max`,
        `${ms(r.latencyMs.p50)} / ${ms(r.latencyMs.p99)} / ${ms(r.latencyMs.max)}`,
      ]);
      rows.push([
        `${label} achieved rate`,
        `${round(r.achievedPerSecond, 1)}/s (${r.answered}/${r.sent} answered, ${r.errors} errors, statuses ${JSON.stringify(r.statuses)})`,
      ]);
    }
    rows.push([
      'ratio gateway/bare p50 / p99',
      `${round(webhook.ratioP50, 1)}× / ${round(webhook.ratioP99, 1)}×`,
    ]);
    rows.push(['runs started by the mix', `${webhook.runsStarted} (${webhook.runStatus})`]);
  }
  if (run) {
    section(`2+4. one full run (${run.status}), model latency ${run.modelLatencyMs} ms/call`);
    rows.push(['wall time', ms(run.wallMs)]);
    rows.push(['− model time', `${ms(run.modelMs)} over ${run.requests.modelCalls} calls`]);
    rows.push(['− CI time', ms(run.ciMs)]);
    rows.push(['− sandbox time (the agent’s commands and checks)', ms(run.sandboxMs)]);
    rows.push(['− approval (emulated human)', ms(run.humanMs)]);
    rows.push(['= orchestration overhead', ms(run.overheadMs)]);
    rows.push([
      'GitHub calls per run (reading the repository)',
      `${run.requests.githubCalls} (${run.requests.githubReadCalls})`,
    ]);
    rows.push([
      'state transitions',
      `${run.transitions} (${round(run.transitionsPerTurn, 2)} per model turn over ${run.llmCalls})`,
    ]);
    rows.push(['orchestration overhead per model turn', ms(run.overheadPerTurnMs)]);
    rows.push([
      'median stage-runner call / LLM turn',
      `${ms(run.medianStageRunnerMs)} / ${ms(run.medianLlmTurnMs)}`,
    ]);
    rows.push([
      'DynamoDB writes / reads (WRU / RRU)',
      `${run.requests.dynamo.writes} / ${run.requests.dynamo.reads} (${run.requests.dynamo.writeUnits} / ${run.requests.dynamo.readUnits})`,
    ]);
    rows.push([
      'SQS requests (+ idle polls)',
      `${run.requests.sqs.requests} (+ ${run.requests.sqs.receivePolls})`,
    ]);
    rows.push([
      'Lambda requests / GB-s',
      `${run.infra.lambdaRequests} / ${round(run.infra.lambdaGbSeconds, 3)}`,
    ]);
    rows.push([
      'infra $: SFN / Lambda / DynamoDB / SQS',
      `${usd(run.infra.stepFunctionsUsd)} / ${usd(run.infra.lambdaUsd)} / ${usd(run.infra.dynamoUsd)} / ${usd(run.infra.sqsUsd)}`,
    ]);
    rows.push(['infra $ per run', usd(run.infra.totalUsd)]);
    rows.push(['model $ per run (ledger)', `$${run.modelCostUsd.toFixed(4)} over ${run.llmCalls} calls`]);
  }
  if (workbench) {
    section(`6. workspace tools on ${workbench.files} files (${round(workbench.megabytes, 0)} MB)`);
    rows.push(['first grep of a fresh tree (index + read + search)', ms(workbench.firstGrepMs)]);
    rows.push(['whole-repo grep, median', ms(workbench.grepMs)]);
    rows.push(['read_file of 2,000 lines at an offset, median', ms(workbench.readFileMs)]);
    rows.push(['ten parallel greps in one turn, median', ms(workbench.tenParallelGrepsMs)]);
  }
  if (sandbox) {
    section(`7. local sandbox (${sandbox.isolated ? 'bubblewrap' : 'UNISOLATED: bubblewrap unavailable'})`);
    rows.push([
      "sample's node --test round trip, median (min / max)",
      `${ms(sandbox.roundTripMs)} (${ms(sandbox.minMs)} / ${ms(sandbox.maxMs)})`,
    ]);
  }
  if (concurrent) {
    section(`3. ${concurrent.runs} concurrent runs over ${concurrent.repos} repos`);
    rows.push(['total time', ms(concurrent.totalMs)]);
    rows.push(['statuses', JSON.stringify(concurrent.statuses)]);
    rows.push(['lost', String(concurrent.lost)]);
    rows.push(['run duration median / max', `${ms(concurrent.medianRunMs)} / ${ms(concurrent.maxRunMs)}`]);
  }
  if (bundles) {
    section('5. Lambda bundles (esbuild as NodejsFunction)');
    for (const b of bundles)
      rows.push([
        b.name,
        `${kb(b.bytes)} of ${kb(b.limitBytes)} ${b.withinLimit ? 'ok' : 'OVER'}; cold import ${ms(b.coldImportMs)} (median of ${b.coldImportSamplesMs.length})`,
      ]);
  }
  if (llm) {
    section(`6. model calls/min vs a stand-in limited to ${llm.limitPerMinute}/min`);
    rows.push(['achieved', `${round(llm.callsPerMinute, 1)}/min = ${round(llm.percentOfLimit, 1)}% of N`]);
    rows.push([
      'answered 429',
      `${llm.answered429} of ${llm.modelRequests} requests = ${round(llm.percent429, 1)}%`,
    ]);
    rows.push([
      'tasks answered (success / failure)',
      `${llm.tasksSucceeded} / ${llm.tasksFailed} of ${llm.queuedTurns} queued`,
    ]);
  }
  section('targets (SPEC §8)');
  for (const [name, target] of Object.entries(results.targets))
    rows.push([name, `${target.met ? 'MET' : 'NOT MET'}: ${target.value} (target ${target.target})`]);
  for (const [part, error] of Object.entries(results.errors)) rows.push([`${part} FAILED`, error]);
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => (value ? `${label.padEnd(width)}  ${value}` : label)).join('\n');
}

const program = new Command()
  .name('bench')
  .description('Code Factory benchmarks (SPEC §8) on the embedded stack')
  .option('--json', 'print one JSON object with every figure as the last line', false)
  .option('--only <parts>', `comma separated: ${PARTS.join(',')}`, PARTS.join(','))
  .option('--rate <n>', 'webhook deliveries per second', '50')
  .option('--seconds <n>', 'webhook load duration', '10')
  .option('--model-latency <ms>', 'added to each model answer in the full run', '300')
  .option('--runs <n>', 'concurrent runs', '20')
  .option('--llm-limit <n>', 'model stand-in requests per minute', '120')
  .option('--llm-window <s>', 'model rate measurement window (s)', '60');
program.parse();
const raw = program.opts<Record<string, string | boolean>>();
const only = String(raw.only)
  .split(',')
  .map((p) => p.trim())
  .filter((p): p is Part => (PARTS as readonly string[]).includes(p));
const options: Options = {
  json: Boolean(raw.json),
  only,
  rate: Number(raw.rate),
  seconds: Number(raw.seconds),
  modelLatencyMs: Number(raw.modelLatency),
  runs: Number(raw.runs),
  llmLimit: Number(raw.llmLimit),
  llmWindow: Number(raw.llmWindow),
};

const hardStop = setTimeout(() => {
  say('bench: gave up after 15 minutes');
  process.exit(2);
}, 15 * 60_000);
hardStop.unref();

measure(options)
  .then((results) => {
    process.stdout.write(`${table(results)}\n`);
    if (options.json) process.stdout.write(`${JSON.stringify(results)}\n`);
    process.exit(Object.keys(results.errors).length ? 1 : 0);
  })
  .catch((error: unknown) => {
    say(`bench failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  });
