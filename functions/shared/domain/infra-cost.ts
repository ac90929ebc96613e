import { roundUsd } from './ledger';
import type { Run } from './run';

/**
 * What a run costs in AWS infrastructure, beside its model cost. One formula, used by the API's
 * run view, the CLI, the console, the final issue comment and the benchmark (bench/stats.ts).
 *
 * Prices: AWS list prices, us-east-1, as published on the services' pricing pages
 * (aws.amazon.com/step-functions/pricing, /lambda/pricing, /dynamodb/pricing/on-demand,
 * /sqs/pricing), checked 2026-11; docs/performance.md lists the assumptions.
 */
export const AWS_PRICES = {
  /** Step Functions standard workflows: $0.025 per 1,000 state transitions. */
  sfnTransitionUsd: 0.025 / 1000,
  /** Lambda arm64: $0.0000133334 per GB-second and $0.20 per 1M requests. */
  lambdaGbSecondUsd: 0.0000133334,
  lambdaRequestUsd: 0.2 / 1_000_000,
  /** DynamoDB on-demand: $1.25 per million write request units, $0.25 per million read units. */
  dynamoWriteUnitUsd: 1.25 / 1_000_000,
  dynamoReadUnitUsd: 0.25 / 1_000_000,
  /** SQS standard: $0.40 per million requests (each 64 KB chunk of a payload is one request). */
  sqsRequestUsd: 0.4 / 1_000_000,
} as const;
export type AwsPrices = typeof AWS_PRICES;

/** Memory sizes of lib/constructs/functions.ts FUNCTION_SPECS (MB). */
export const LAMBDA_MEMORY_MB = {
  webhook: 512,
  api: 512,
  approvals: 256,
  stages: 1024,
  llmWorker: 512,
  sandbox: 2048,
} as const;

/** Lambda bills duration rounded up to the millisecond, with at least 1 ms per invocation. */
export const billedMs = (ms: number): number => Math.max(1, Math.ceil(ms));

export interface LambdaUsage {
  /** Function name (as in lib/constructs/functions.ts). */
  name: string;
  memoryMb: number;
  /** Duration of each invocation, ms. */
  durationsMs: number[];
}

export interface InfraUsage {
  transitions: number;
  lambdas: LambdaUsage[];
  dynamoWriteUnits: number;
  dynamoReadUnits: number;
  sqsRequests: number;
}

export interface InfraCost {
  stepFunctionsUsd: number;
  lambdaUsd: number;
  lambdaGbSeconds: number;
  lambdaRequests: number;
  dynamoUsd: number;
  sqsUsd: number;
  totalUsd: number;
}

export function infraCost(usage: InfraUsage, prices: AwsPrices = AWS_PRICES): InfraCost {
  let gbSeconds = 0;
  let requests = 0;
  for (const fn of usage.lambdas) {
    requests += fn.durationsMs.length;
    const billed = fn.durationsMs.reduce((sum, ms) => sum + billedMs(ms), 0);
    gbSeconds += (fn.memoryMb / 1024) * (billed / 1000);
  }
  const stepFunctionsUsd = usage.transitions * prices.sfnTransitionUsd;
  const lambdaUsd = gbSeconds * prices.lambdaGbSecondUsd + requests * prices.lambdaRequestUsd;
  const dynamoUsd =
    usage.dynamoWriteUnits * prices.dynamoWriteUnitUsd + usage.dynamoReadUnits * prices.dynamoReadUnitUsd;
  const sqsUsd = usage.sqsRequests * prices.sqsRequestUsd;
  return {
    stepFunctionsUsd,
    lambdaUsd,
    lambdaGbSeconds: gbSeconds,
    lambdaRequests: requests,
    dynamoUsd,
    sqsUsd,
    totalUsd: stepFunctionsUsd + lambdaUsd + dynamoUsd + sqsUsd,
  };
}

/**
 * Per-run rates of the estimate, from the benchmark's measured run (docs/performance.md: 11 model
 * calls, 48 transitions, 191 writes, 274 reads, 22 SQS requests, 64 invocations). A run records
 * its counts cheaply (model calls, stage attempts, item versions); the rest follows from them.
 */
export const RUN_ESTIMATE = {
  /** SPEC §8's bound: at most 4 transitions per model call and 10 for the run. */
  transitionsPerCall: 4,
  transitionsPerRun: 10,
  /** A turn: queue send, receive and delete. */
  sqsRequestsPerCall: 2,
  /** Each model call writes a ledger entry and adds to the run's totals; each version is a write. */
  dynamoWritesPerCall: 2,
  /** Reads per write, as measured (274 / 191). */
  dynamoReadsPerWrite: 1.45,
  /**
   * The LLM worker waits for the model's answer, so it is billed for it: a typical agent turn of
   * a hosted model (the local stand-in answers faster, so locally this overestimates).
   */
  llmWorkerMsPerCall: 10_000,
  /** Stage-runner invocations: one per stage attempt and one to send and collect each turn. */
  stageRunnerMsPerCall: 60,
  stageRunnerMsPerStage: 80,
} as const;

/**
 * What a run records that the estimate reads: all of it on the Run item, so the API, the CLI,
 * the console, the issue comment and the cost roll-ups (which read run items only) agree.
 */
export interface RunCounts {
  llmCalls: number;
  stageAttempts: number;
  /** Writes to the run item (its optimistic-lock version). */
  runVersion: number;
  /** State transitions, when the run recorded them (0: estimated from the calls). */
  transitions: number;
  /**
   * Seconds sandbox jobs ran (the ledger's). Reported, not priced here: the ledger already bills
   * them at the deployment's sandbox price, so they are in the run's ledger cost.
   */
  sandboxSeconds: number;
}

export function runCounts(run: Pick<Run, 'ledger' | 'stages' | 'version' | 'transitions'>): RunCounts {
  const sandboxSeconds = run.ledger.sandboxSeconds ?? 0;
  return {
    llmCalls: run.ledger.llmCalls,
    stageAttempts: run.stages.length,
    runVersion: run.version,
    transitions: run.transitions,
    sandboxSeconds,
  };
}

export function estimateRunUsage(counts: RunCounts, rates = RUN_ESTIMATE): InfraUsage {
  const calls = counts.llmCalls;
  const transitions =
    counts.transitions > 0 ? counts.transitions : rates.transitionsPerCall * calls + rates.transitionsPerRun;
  const writes = counts.runVersion + rates.dynamoWritesPerCall * calls;
  return {
    transitions,
    lambdas: [
      {
        name: 'stages',
        memoryMb: LAMBDA_MEMORY_MB.stages,
        durationsMs: [
          ...Array.from({ length: counts.stageAttempts }, () => rates.stageRunnerMsPerStage),
          ...Array.from({ length: calls }, () => rates.stageRunnerMsPerCall),
        ],
      },
      {
        name: 'llm-worker',
        memoryMb: LAMBDA_MEMORY_MB.llmWorker,
        durationsMs: Array.from({ length: calls }, () => rates.llmWorkerMsPerCall),
      },
    ],
    dynamoWriteUnits: writes,
    dynamoReadUnits: Math.ceil(writes * rates.dynamoReadsPerWrite),
    sqsRequests: rates.sqsRequestsPerCall * calls,
  };
}

/**
 * A run's cost as shown everywhere: the ledger's (model calls and sandbox jobs, billed as they
 * ran) and infra (the estimate of the rest), in USD.
 */
export interface RunCost {
  modelUsd: number;
  infraUsd: number;
  totalUsd: number;
  infra: InfraCost & { transitions: number; sandboxSeconds: number };
}

export function runCost(counts: RunCounts, modelUsd: number, prices: AwsPrices = AWS_PRICES): RunCost {
  if (!Number.isFinite(modelUsd) || modelUsd < 0)
    throw new RangeError('model cost must be a non-negative number');
  const usage = estimateRunUsage(counts);
  const infra = infraCost(usage, prices);
  return {
    modelUsd: roundUsd(modelUsd),
    infraUsd: roundUsd(infra.totalUsd),
    totalUsd: roundUsd(modelUsd + infra.totalUsd),
    infra: { ...infra, transitions: usage.transitions, sandboxSeconds: counts.sandboxSeconds },
  };
}

/** The cost of a run as it stands, from its item alone. */
export const costOfRun = (
  run: Pick<Run, 'ledger' | 'stages' | 'version' | 'transitions'>,
  prices: AwsPrices = AWS_PRICES,
): RunCost => runCost(runCounts(run), run.ledger.costUsd, prices);

/** `$0.0023`: small sums keep four decimals, as the console and the comments print them. */
export const formatCostUsd = (usd: number): string => `$${usd.toFixed(usd > 0 && usd < 1 ? 4 : 2)}`;
