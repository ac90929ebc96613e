import { describe, expect, it } from 'vitest';
import {
  AWS_PRICES,
  achievedRate,
  billedMs,
  dynamoKind,
  dynamoUnits,
  infraCost,
  median,
  percentile,
  summarize,
  unionMs,
} from '../../../bench/stats';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted

  it('picks the nearest-rank value of unsorted samples', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile([7, 3, 9], 50)).toBe(7);
  });

  it('p99 of a few samples is their maximum, and empty input is NaN', () => {
    expect(percentile([1, 2, 3, 40], 99)).toBe(40);
    expect(percentile([], 50)).toBeNaN();
  });

  it('rejects a percentile outside 0..100', () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
  });

  it('does not reorder its input', () => {
    const samples = [3, 1, 2];
    percentile(samples, 50);
    expect(samples).toEqual([3, 1, 2]);
  });
});

describe('median and summarize', () => {
  it('averages the middle pair for even counts', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([])).toBeNaN();
  });

  it('summarizes count, p50, p90, p99 and max', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(summarize(samples)).toEqual({ count: 1000, p50: 500, p90: 900, p99: 990, max: 1000 });
  });
});

describe('unionMs', () => {
  it('counts overlapping intervals once and ignores empty ones', () => {
    expect(
      unionMs([
        [0, 10],
        [5, 15],
        [20, 25],
        [30, 30],
      ]),
    ).toBe(20);
    expect(unionMs([])).toBe(0);
  });
});

describe('achievedRate', () => {
  it('is answers per second over the span', () => {
    expect(achievedRate(500, 10_000)).toBe(50);
    expect(achievedRate(1, 0)).toBeNaN();
  });
});

describe('DynamoDB request units', () => {
  it('classifies JSON-protocol targets', () => {
    expect(dynamoKind('DynamoDB_20120810.PutItem')).toBe('write');
    expect(dynamoKind('DynamoDB_20120810.UpdateItem')).toBe('write');
    expect(dynamoKind('DynamoDB_20120810.Query')).toBe('read');
    expect(dynamoKind('DynamoDB_20120810.GetItem')).toBe('read');
    expect(dynamoKind('DynamoDB_20120810.DescribeTable')).toBe('control');
  });

  it('charges 1 KB per write unit and 4 KB per read unit, at least one', () => {
    expect(dynamoUnits('write', 0)).toBe(1);
    expect(dynamoUnits('write', 1024)).toBe(1);
    expect(dynamoUnits('write', 1025)).toBe(2);
    expect(dynamoUnits('read', 4097)).toBe(2);
    expect(dynamoUnits('control', 5000)).toBe(0);
  });
});

describe('infraCost', () => {
  it('bills Lambda per started ms and at least 1 ms', () => {
    expect(billedMs(0.2)).toBe(1);
    expect(billedMs(10.1)).toBe(11);
  });

  it('prices a run from list prices', () => {
    const cost = infraCost({
      transitions: 1000,
      lambdas: [
        // 1 GB for 2 × 500 ms = 1 GB-s; 512 MB for 1000 ms = 0.5 GB-s
        { name: 'stages', memoryMb: 1024, durationsMs: [500, 500] },
        { name: 'llm-worker', memoryMb: 512, durationsMs: [1000] },
      ],
      dynamoWriteUnits: 1_000_000,
      dynamoReadUnits: 2_000_000,
      sqsRequests: 500_000,
    });
    expect(cost.stepFunctionsUsd).toBeCloseTo(0.025, 10);
    expect(cost.lambdaGbSeconds).toBeCloseTo(1.5, 10);
    expect(cost.lambdaRequests).toBe(3);
    expect(cost.lambdaUsd).toBeCloseTo(1.5 * 0.0000133334 + 3 * 0.0000002, 12);
    expect(cost.dynamoUsd).toBeCloseTo(1.25 + 0.5, 10);
    expect(cost.sqsUsd).toBeCloseTo(0.2, 10);
    expect(cost.totalUsd).toBeCloseTo(
      cost.stepFunctionsUsd + cost.lambdaUsd + cost.dynamoUsd + cost.sqsUsd,
      12,
    );
  });

  it('uses the us-east-1 list prices stated in docs/performance.md', () => {
    expect(AWS_PRICES.sfnTransitionUsd * 1000).toBeCloseTo(0.025, 12);
    expect(AWS_PRICES.lambdaRequestUsd * 1e6).toBeCloseTo(0.2, 12);
    expect(AWS_PRICES.dynamoWriteUnitUsd * 1e6).toBeCloseTo(1.25, 12);
    expect(AWS_PRICES.dynamoReadUnitUsd * 1e6).toBeCloseTo(0.25, 12);
    expect(AWS_PRICES.sqsRequestUsd * 1e6).toBeCloseTo(0.4, 12);
  });
});
