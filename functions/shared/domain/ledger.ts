import type { LlmUsage } from '../ports';
import { DEFAULT_PRICES, type ModelPrice, type PriceTable, priceFor } from './models';
import { type Provider, parseModelRef } from './providers';
import type { LedgerTotals } from './run';

/**
 * Cost accounting (SPEC §1 Ledger, §8 "cost per run to the cent"). Money is computed in integer
 * micro-dollars: prices become micro-dollars per million tokens, token counts multiply them as
 * BigInt (no overflow, no float drift), and sums stay integers. USD numbers are derived at the edge.
 */

export const MICROS_PER_USD = 1_000_000;
const TOKENS_PER_PRICE_UNIT = 1_000_000n;

export const usdToMicros = (usd: number): number => Math.round(usd * MICROS_PER_USD);
export const microsToUsd = (micros: number): number => micros / MICROS_PER_USD;
/** A dollar amount rounded to the micro-dollar, for reports (sums of floats print as 0.30000000000000004). */
export const roundUsd = (usd: number): number => microsToUsd(usdToMicros(usd));

const rate = (usdPerMTok: number): bigint => BigInt(Math.round(usdPerMTok * MICROS_PER_USD));

const count = (tokens: number | undefined): bigint => {
  if (tokens === undefined) return 0n;
  if (!Number.isSafeInteger(tokens) || tokens < 0)
    throw new RangeError('token counts must be whole numbers ≥ 0');
  return BigInt(tokens);
};

/** The priciest entry of the table: an unknown model is charged at this (fail expensive, never free). */
function worstPrice(prices: PriceTable): ModelPrice {
  const all = Object.values(prices);
  if (all.length === 0) throw new RangeError('the price table is empty');
  type Rate = 'input' | 'output' | 'cacheWrite5m' | 'cacheWrite1h' | 'cacheRead';
  const pick = (key: Rate) => Math.max(...all.flatMap((p) => [p[key], p.longPrompt?.[key] ?? 0]));
  return {
    input: pick('input'),
    output: pick('output'),
    cacheWrite5m: pick('cacheWrite5m'),
    cacheWrite1h: pick('cacheWrite1h'),
    cacheRead: pick('cacheRead'),
  };
}

const priceOrWorst = (model: string, prices: PriceTable): ModelPrice =>
  priceFor(model, prices) ?? worstPrice(prices);

/** Rounds micro-dollar * tokens / 1e6 half up to whole micro-dollars. */
const toMicros = (microTokens: bigint): number =>
  Number((microTokens + TOKENS_PER_PRICE_UNIT / 2n) / TOKENS_PER_PRICE_UNIT);

/** The rates one request pays: the long-prompt tier when its prompt is over the threshold. */
function ratesFor(price: ModelPrice, usage: LlmUsage): ModelPrice {
  const prompt =
    usage.inputTokens + usage.cacheReadTokens + usage.cacheWrite5mTokens + usage.cacheWrite1hTokens;
  return price.longPrompt && prompt > price.longPrompt.thresholdTokens ? price.longPrompt : price;
}

/** Cost of one call in integer micro-dollars. */
export function costMicros(usage: LlmUsage, model: string, prices: PriceTable = DEFAULT_PRICES): number {
  const price = ratesFor(priceOrWorst(model, prices), usage);
  const total =
    count(usage.inputTokens) * rate(price.input) +
    count(usage.outputTokens) * rate(price.output) +
    count(usage.cacheWrite5mTokens) * rate(price.cacheWrite5m) +
    count(usage.cacheWrite1hTokens) * rate(price.cacheWrite1h) +
    count(usage.cacheReadTokens) * rate(price.cacheRead);
  return toMicros(total);
}

/** Cost of one call in USD (micro-dollar precision, so exact to the cent). */
export const costOf = (usage: LlmUsage, model: string, prices: PriceTable = DEFAULT_PRICES): number =>
  microsToUsd(costMicros(usage, model, prices));

/**
 * The most a call can cost, for the budget reservation made before it: every input token at the
 * dearest input rate (a cache write costs more than plain input) plus `maxTokens` of output.
 */
export function worstCaseCost(
  inputTokens: number,
  maxTokens: number,
  model: string,
  prices: PriceTable = DEFAULT_PRICES,
): number {
  const card = priceOrWorst(model, prices);
  // The estimate may be short of the real prompt: reserve at the dearer tier whenever there is one.
  const price = card.longPrompt ?? card;
  const inputRate = [price.input, price.cacheWrite5m, price.cacheWrite1h].reduce((a, b) => Math.max(a, b));
  const total = count(inputTokens) * rate(inputRate) + count(maxTokens) * rate(price.output);
  // Round up: a reservation must never be smaller than what it covers.
  return microsToUsd(Number((total + TOKENS_PER_PRICE_UNIT - 1n) / TOKENS_PER_PRICE_UNIT));
}

/** The run's totals after one more call. Cost sums in micro-dollars, so no drift over many calls. */
export function addUsage(
  totals: LedgerTotals,
  usage: LlmUsage,
  model: string,
  prices: PriceTable = DEFAULT_PRICES,
): LedgerTotals {
  return {
    llmCalls: totals.llmCalls + 1,
    inputTokens: totals.inputTokens + usage.inputTokens,
    outputTokens: totals.outputTokens + usage.outputTokens,
    cacheReadTokens: totals.cacheReadTokens + usage.cacheReadTokens,
    cacheWriteTokens: totals.cacheWriteTokens + usage.cacheWrite5mTokens + usage.cacheWrite1hTokens,
    costUsd: microsToUsd(usdToMicros(totals.costUsd) + costMicros(usage, model, prices)),
  };
}

/** Sum of stored costs (e.g. ledger entries' costUsd) without float drift. */
export const sumUsd = (amounts: readonly number[]): number =>
  microsToUsd(amounts.reduce((sum, usd) => sum + usdToMicros(usd), 0));

/** `$1.23`: rounded half up to the cent, for comments and emails. */
export const formatUsd = (usd: number): string =>
  `$${(Math.round(usdToMicros(usd) / 10_000) / 100).toFixed(2)}`;

/**
 * The shape the LLM worker's `pricing` dependency expects, over a price table. Unprefixed ids are
 * priced as the default provider's.
 */
export function createPricing(
  prices: PriceTable = DEFAULT_PRICES,
  defaultProvider: Provider = 'anthropic',
): {
  costUsd(model: string, usage: LlmUsage): number;
  worstCaseUsd(model: string, inputTokens: number, maxTokens: number): number;
  isPriced(model: string): boolean;
} {
  const qualified = (model: string) => {
    if (defaultProvider === 'anthropic' || priceFor(model, prices)) return model;
    try {
      return parseModelRef(model, defaultProvider).id;
    } catch {
      return model;
    }
  };
  return {
    costUsd: (model, usage) => costOf(usage, qualified(model), prices),
    worstCaseUsd: (model, inputTokens, maxTokens) =>
      worstCaseCost(inputTokens, maxTokens, qualified(model), prices),
    isPriced: (model) => priceFor(model, prices, defaultProvider) !== undefined,
  };
}
