/**
 * The pure arithmetic of `npm run bench`: percentiles, summaries and the AWS list-price cost model.
 * Kept free of I/O so it is unit-tested (test/unit/bench/).
 */

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (p < 0 || p > 100 || Number.isNaN(p)) throw new RangeError(`percentile ${p} is outside 0..100`);
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

/** Median as the mean of the two middle values for even counts. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(samples: readonly number[]): LatencySummary {
  return {
    count: samples.length,
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    max: samples.length ? Math.max(...samples) : Number.NaN,
  };
}

/** Rounds for display and JSON (figures are ms or USD; a few decimals are plenty). */
export const round = (value: number, decimals = 2): number => {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
};

/** Total length of the union of [start, end] intervals (overlapping CI runs are counted once). */
export function unionMs(intervals: ReadonlyArray<readonly [number, number]>): number {
  const sorted = intervals.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let current: [number, number] | undefined;
  for (const [start, end] of sorted) {
    if (!current || start > current[1]) {
      if (current) total += current[1] - current[0];
      current = [start, end];
    } else current[1] = Math.max(current[1], end);
  }
  if (current) total += current[1] - current[0];
  return total;
}

// ---------------------------------------------------------------------------------------------
// Cost model: one shared formula with AWS's published prices (functions/shared/domain/infra-cost.ts)
// ---------------------------------------------------------------------------------------------

export {
  AWS_PRICES,
  billedMs,
  type InfraCost,
  type InfraUsage,
  infraCost,
  type LambdaUsage,
} from '../functions/shared/domain/infra-cost';

/** DynamoDB operations by the capacity they consume (on-demand request units). */
const DYNAMO_WRITES = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
]);
const DYNAMO_READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

export type DynamoKind = 'write' | 'read' | 'control';

/** `DynamoDB_20120810.PutItem` → write. Control-plane calls (CreateTable, DescribeTable) are free. */
export function dynamoKind(target: string): DynamoKind {
  const operation = target.split('.').pop() ?? '';
  if (DYNAMO_WRITES.has(operation)) return 'write';
  if (DYNAMO_READS.has(operation)) return 'read';
  return 'control';
}

/**
 * Request units of one DynamoDB request under the stated assumptions: a write of an item ≤ 1 KB is
 * one WRU; a read (strongly consistent, ≤ 4 KB) one RRU. Larger items are counted by size when the
 * caller knows it (`bytes`): ceil(bytes / 1 KB) WRU, ceil(bytes / 4 KB) RRU.
 */
export function dynamoUnits(kind: DynamoKind, bytes = 0): number {
  if (kind === 'control') return 0;
  const unit = kind === 'write' ? 1024 : 4096;
  return Math.max(1, Math.ceil(bytes / unit));
}

/** Achieved rate in events per second over the span from the first scheduled send to the last answer. */
export function achievedRate(count: number, spanMs: number): number {
  return spanMs > 0 ? (count / spanMs) * 1000 : Number.NaN;
}
