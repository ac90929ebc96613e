import { MICROS_PER_USD } from './ledger';

/**
 * What sandbox time costs (issue 16: "sandbox seconds in the ledger at a configured price").
 * The default is the sandbox Lambda's published on-demand price: 2,048 MB at Lambda's x86
 * per-GB-second rate ($0.0000166667, us-east-1, first tier; aws.amazon.com/lambda/pricing).
 * The function runs on ARM64 ($0.0000133334): the x86 rate is the dearer of the two, so the
 * default never undercharges. Requests ($0.20 per million) and ephemeral storage beyond 512 MB
 * ($0.0000000309 per GB-second) are left out: together under 0.5% of a second's price.
 */
export const SANDBOX_MEMORY_MB = 2048;
export const LAMBDA_X86_USD_PER_GB_SECOND = 0.0000166667;
export const DEFAULT_SANDBOX_PRICE_PER_SECOND_USD = 0.0000333334; // (2048 / 1024) × the rate

/** The most `seconds` of sandbox time can cost: rounded up to the micro-dollar (a reservation). */
export const sandboxWorstCaseUsd = (seconds: number, pricePerSecondUsd: number): number =>
  Math.ceil(seconds * pricePerSecondUsd * MICROS_PER_USD - 1e-9) / MICROS_PER_USD;

/** What `ms` of sandbox time cost: rounded half up to the micro-dollar. */
export const sandboxCostUsd = (ms: number, pricePerSecondUsd: number): number =>
  Math.round((ms / 1000) * pricePerSecondUsd * MICROS_PER_USD) / MICROS_PER_USD;
