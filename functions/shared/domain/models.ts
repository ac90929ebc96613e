import * as z from 'zod';

/**
 * Model aliases and prices (SPEC §4). Stages ask for an alias; the deployment maps it to an
 * ordered list of model ids (first preferred, the rest fallbacks when a model is overloaded), and a
 * repository may override the list in `.github/factory.yml`. Prices are USD per million tokens,
 * configurable through MODEL_CONFIG (functions/shared/config.ts), with the defaults below.
 */

export const MODEL_ALIASES = ['planner', 'coder', 'reviewer', 'fast'] as const;
export const ModelAlias = z.enum(MODEL_ALIASES);
export type ModelAlias = z.infer<typeof ModelAlias>;

/** Anthropic, Bedrock and Vertex spellings: `claude-sonnet-4-5`, `anthropic.claude-…-v1:0`, `…@20250805`. */
export const ModelId = z
  .string({ error: 'must be a model id' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/, {
    error: 'must be a model id (letters, digits and . _ : @ / -, at most 128 characters)',
  });

const ModelList = z.array(ModelId).min(1).max(5);
export const ModelAliases = z.strictObject({
  planner: ModelList,
  coder: ModelList,
  reviewer: ModelList,
  fast: ModelList,
});
export type ModelAliases = z.infer<typeof ModelAliases>;

export const DEFAULT_MODEL_ALIASES: ModelAliases = {
  planner: ['claude-sonnet-4-6', 'claude-sonnet-4-5'],
  coder: ['claude-sonnet-4-6', 'claude-sonnet-4-5'],
  reviewer: ['claude-sonnet-4-6', 'claude-sonnet-4-5'],
  fast: ['claude-haiku-4-5'],
};

// Up to 1000 USD per million tokens, in whole micro-dollars (6 decimals) so sums stay exact.
const UsdPerMTok = z
  .number()
  .min(0)
  .max(1000)
  .refine((n) => Math.abs(n * 1e6 - Math.round(n * 1e6)) < 1e-3, { error: 'at most 6 decimals' });

export const ModelPrice = z.strictObject({
  input: UsdPerMTok,
  output: UsdPerMTok,
  cacheWrite5m: UsdPerMTok,
  cacheWrite1h: UsdPerMTok,
  cacheRead: UsdPerMTok,
});
export type ModelPrice = z.infer<typeof ModelPrice>;

export const PriceTable = z.record(ModelId, ModelPrice);
export type PriceTable = z.infer<typeof PriceTable>;

/** Standard rates: cache write 5m = 1.25 x input, 1h = 2 x input, cache read = 0.1 x input. */
const standard = (input: number, output: number): ModelPrice => ({
  input,
  output,
  cacheWrite5m: input * 1.25,
  cacheWrite1h: input * 2,
  cacheRead: Math.round(input * 0.1 * 1e6) / 1e6,
});

/** Anthropic list prices, USD per million tokens (platform.claude.com/docs/en/about-claude/pricing). */
export const DEFAULT_PRICES: PriceTable = {
  'claude-opus-4-8': standard(5, 25),
  'claude-opus-4-7': standard(5, 25),
  'claude-opus-4-6': standard(5, 25),
  'claude-opus-4-5': standard(5, 25),
  'claude-opus-4-1': standard(15, 75),
  'claude-opus-4-0': standard(15, 75),
  'claude-sonnet-4-6': standard(3, 15),
  'claude-sonnet-4-5': standard(3, 15),
  'claude-sonnet-4-0': standard(3, 15),
  'claude-haiku-4-5': standard(1, 5),
};

/** The MODEL_CONFIG environment value: alias lists and prices, both merged over the defaults. */
const ModelConfig = z.strictObject({
  aliases: ModelAliases.partial().optional(),
  prices: PriceTable.optional(),
});

export interface ResolvedModelConfig {
  aliases: ModelAliases;
  prices: PriceTable;
}

/** Parses MODEL_CONFIG (JSON; unset = defaults). Throws with the field paths when invalid. */
export function parseModelConfig(json: string | undefined): ResolvedModelConfig {
  if (json === undefined || json.trim() === '') {
    return { aliases: { ...DEFAULT_MODEL_ALIASES }, prices: { ...DEFAULT_PRICES } };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('MODEL_CONFIG is not valid JSON');
  }
  const parsed = ModelConfig.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`MODEL_CONFIG is invalid: ${issues.join('; ')}`);
  }
  return {
    aliases: { ...DEFAULT_MODEL_ALIASES, ...parsed.data.aliases },
    prices: { ...DEFAULT_PRICES, ...parsed.data.prices },
  };
}

/** The model list of each alias: the repo's overrides (contract.models) over the deployment's. */
export function resolveModels(
  overrides: Partial<Record<ModelAlias, string[]>>,
  defaults: ModelAliases = DEFAULT_MODEL_ALIASES,
): ModelAliases {
  const out = { ...defaults };
  for (const alias of MODEL_ALIASES) {
    const list = overrides[alias];
    if (list && list.length > 0) out[alias] = list.slice(0, 5);
  }
  return out;
}

/** The price of `model`: exact id first, then without a `-YYYYMMDD` snapshot suffix. */
export function priceFor(model: string, prices: PriceTable = DEFAULT_PRICES): ModelPrice | undefined {
  if (Object.hasOwn(prices, model)) return prices[model];
  const base = model.replace(/-\d{8}$/, '');
  return Object.hasOwn(prices, base) ? prices[base] : undefined;
}

/** Models of `aliases` without a price: admit refuses a run that would use one. */
export function unpricedModels(aliases: ModelAliases, prices: PriceTable = DEFAULT_PRICES): string[] {
  const all = MODEL_ALIASES.flatMap((alias) => aliases[alias]);
  return [...new Set(all)].filter((model) => !priceFor(model, prices));
}
