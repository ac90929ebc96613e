import { describe, expect, it } from 'vitest';
import {
  AWS_PRICES,
  costOfRun,
  estimateRunUsage,
  infraCost,
  RUN_ESTIMATE,
  runCost,
  runCounts,
} from '../../../functions/shared/domain/infra-cost';
import type { Run } from '../../../functions/shared/domain/run';

const run = (over: Partial<Run> = {}) =>
  ({
    ledger: {
      llmCalls: 11,
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      costUsd: 0.0252,
    },
    stages: Array.from({ length: 9 }, () => ({ name: 'plan', status: 'SUCCEEDED', startedAt: '' })),
    version: 40,
    transitions: 0,
    ...over,
  }) as unknown as Run;

describe('infra cost of a run', () => {
  it('estimates transitions by the SPEC §8 bound when the run recorded none, and uses them when it did', () => {
    expect(estimateRunUsage(runCounts(run())).transitions).toBe(4 * 11 + 10);
    expect(estimateRunUsage(runCounts(run({ transitions: 48 }))).transitions).toBe(48);
  });

  it('prices each service at the published list price', () => {
    const cost = costOfRun(run({ transitions: 48 }));
    expect(cost.infra.stepFunctionsUsd).toBeCloseTo(48 * 0.000025, 12);
    // 11 worker calls × 10 s at 512 MB + 9 stage attempts × 80 ms and 11 turns × 60 ms at 1 GB.
    const gbSeconds = 11 * 10 * 0.5 + (9 * 0.08 + 11 * 0.06);
    expect(cost.infra.lambdaGbSeconds).toBeCloseTo(gbSeconds, 9);
    expect(cost.infra.lambdaUsd).toBeCloseTo(gbSeconds * 0.0000133334 + 31 * 0.0000002, 12);
    const writes = 40 + 2 * 11;
    expect(cost.infra.dynamoUsd).toBeCloseTo(writes * 1.25e-6 + Math.ceil(writes * 1.45) * 0.25e-6, 12);
    expect(cost.infra.sqsUsd).toBeCloseTo(22 * 0.4e-6, 12);
    expect(cost.infraUsd).toBeCloseTo(cost.infra.totalUsd, 6);
    expect(cost.modelUsd).toBe(0.0252);
    expect(cost.totalUsd).toBeCloseTo(0.0252 + cost.infra.totalUsd, 6);
  });

  it('lands near the benchmark measured for the same run (docs/performance.md: $0.00227, SFN $0.00185)', () => {
    // The benchmark's run: 11 calls, 48 transitions; its Lambda figure used the stand-in's 300 ms turns.
    const cost = costOfRun(run({ transitions: 48 }));
    expect(cost.infra.stepFunctionsUsd + cost.infra.dynamoUsd + cost.infra.sqsUsd).toBeGreaterThan(0.0012);
    expect(cost.infra.stepFunctionsUsd + cost.infra.dynamoUsd + cost.infra.sqsUsd).toBeLessThan(0.003);
  });

  it('reports the ledger sandbox seconds without pricing them twice (the ledger bills them)', () => {
    const without = costOfRun(run());
    const withSandbox = costOfRun(run({ ledger: { ...run().ledger, sandboxSeconds: 30 } }));
    expect(withSandbox.infra.sandboxSeconds).toBe(30);
    expect(withSandbox.infraUsd).toBe(without.infraUsd);
    expect(withSandbox.modelUsd).toBe(run().ledger.costUsd);
  });

  it('is zero-call safe and refuses a negative model cost', () => {
    const idle = costOfRun(
      run({ ledger: { ...run().ledger, llmCalls: 0, costUsd: 0 }, stages: [], version: 1 }),
    );
    expect(idle.infra.transitions).toBe(RUN_ESTIMATE.transitionsPerRun);
    expect(idle.infraUsd).toBeGreaterThan(0);
    expect(() => runCost(runCounts(run()), -1)).toThrow(RangeError);
  });

  it('keeps the bench formula: Lambda bills at least 1 ms per invocation', () => {
    const cost = infraCost({
      transitions: 0,
      lambdas: [{ name: 'x', memoryMb: 1024, durationsMs: [0.2, 0.2] }],
      dynamoWriteUnits: 0,
      dynamoReadUnits: 0,
      sqsRequests: 0,
    });
    expect(cost.lambdaGbSeconds).toBeCloseTo(0.002, 12);
    expect(cost.lambdaUsd).toBeCloseTo(
      0.002 * AWS_PRICES.lambdaGbSecondUsd + 2 * AWS_PRICES.lambdaRequestUsd,
      15,
    );
  });
});
