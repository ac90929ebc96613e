import * as z from 'zod';
import {
  claudeModelOfBedrockId,
  EndpointName,
  OpenAiEndpoint,
  PROVIDERS,
  Provider,
  parseModelRef,
} from './providers';

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

/**
 * The MODEL_CONFIG environment value: alias lists and prices, both merged over the defaults; the
 * provider of unprefixed ids; the OpenAI-compatible endpoints the operator allows; and the
 * providers a repository's factory.yml may name (default: the default provider, plus
 * openai-compatible when endpoints are configured, plus any provider the deployment's lists use).
 */
const ModelConfig = z.strictObject({
  aliases: ModelAliases.partial().optional(),
  prices: PriceTable.optional(),
  defaultProvider: Provider.optional(),
  endpoints: z.record(EndpointName, OpenAiEndpoint).optional(),
  allowedProviders: z.array(Provider).min(1).optional(),
});

export interface ResolvedModelConfig {
  aliases: ModelAliases;
  prices: PriceTable;
  defaultProvider: Provider;
  endpoints: Record<string, OpenAiEndpoint>;
  allowedProviders: Provider[];
}

/** Parses MODEL_CONFIG (JSON; unset = defaults). Throws with the field paths when invalid. */
export function parseModelConfig(json: string | undefined): ResolvedModelConfig {
  if (json === undefined || json.trim() === '') {
    return {
      aliases: { ...DEFAULT_MODEL_ALIASES },
      prices: { ...DEFAULT_PRICES },
      defaultProvider: 'anthropic',
      endpoints: {},
      allowedProviders: ['anthropic'],
    };
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
  const aliases = { ...DEFAULT_MODEL_ALIASES, ...parsed.data.aliases };
  const defaultProvider = parsed.data.defaultProvider ?? 'anthropic';
  const endpoints = parsed.data.endpoints ?? {};
  for (const id of MODEL_ALIASES.flatMap((alias) => aliases[alias])) {
    const ref = parseModelRef(id, defaultProvider);
    if (ref.endpoint !== undefined && !Object.hasOwn(endpoints, ref.endpoint))
      throw new Error(`MODEL_CONFIG is invalid: ${id} names endpoint ${ref.endpoint}, not in endpoints`);
  }
  const used = MODEL_ALIASES.flatMap((alias) => aliases[alias]).map(
    (id) => parseModelRef(id, defaultProvider).provider,
  );
  const allowedProviders =
    parsed.data.allowedProviders ??
    PROVIDERS.filter(
      (p) =>
        p === defaultProvider ||
        used.includes(p) ||
        (p === 'openai-compatible' && Object.keys(endpoints).length > 0),
    );
  return {
    aliases,
    prices: { ...DEFAULT_PRICES, ...parsed.data.prices },
    defaultProvider,
    endpoints,
    allowedProviders,
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

/**
 * The price of `model`: the id as written, then provider-qualified, each also without a
 * `-YYYYMMDD` snapshot suffix. A Claude model on Bedrock without a price of its own is charged
 * Anthropic's list price for that model (Bedrock's on-demand price for global inference
 * profiles; configure `bedrock:…` prices where yours differ, e.g. regional profiles). An
 * OpenAI-compatible model has only the price configured for its exact id.
 */
export function priceFor(
  model: string,
  prices: PriceTable = DEFAULT_PRICES,
  defaultProvider: Provider = 'anthropic',
): ModelPrice | undefined {
  const exact = (id: string) => {
    if (Object.hasOwn(prices, id)) return prices[id];
    const base = id.replace(/-\d{8}$/, '');
    return Object.hasOwn(prices, base) ? prices[base] : undefined;
  };
  const found = exact(model);
  if (found) return found;
  let ref: ReturnType<typeof parseModelRef>;
  try {
    ref = parseModelRef(model, defaultProvider);
  } catch {
    return undefined;
  }
  if (ref.provider === 'openai-compatible') return Object.hasOwn(prices, ref.id) ? prices[ref.id] : undefined;
  const qualified = exact(ref.id);
  if (qualified) return qualified;
  if (ref.provider === 'anthropic') return exact(ref.model);
  const claude = claudeModelOfBedrockId(ref.model);
  return claude ? exact(claude) : undefined;
}

/** Models of `aliases` without a price: admit refuses a run that would use one. */
export function unpricedModels(
  aliases: ModelAliases,
  prices: PriceTable = DEFAULT_PRICES,
  defaultProvider: Provider = 'anthropic',
): string[] {
  const all = MODEL_ALIASES.flatMap((alias) => aliases[alias]);
  return [...new Set(all)].filter((model) => !priceFor(model, prices, defaultProvider));
}

/** Why a run on unpriced models is refused, naming the configuration key that fixes it. */
export function unpricedMessage(models: readonly string[]): string {
  const keys = models.map((m) => `MODEL_CONFIG.prices[${JSON.stringify(m)}]`).join(', ');
  return `no price is configured for ${models.join(', ')}: set ${keys} (USD per million tokens: input, output, cacheWrite5m, cacheWrite1h, cacheRead; 0 for a free local model)`;
}

/**
 * Models of `aliases` the operator did not allow: a provider outside `allowedProviders`, or an
 * OpenAI-compatible endpoint not configured (so a repository cannot send code elsewhere).
 */
export function disallowedModels(aliases: ModelAliases, config: ResolvedModelConfig): string[] {
  const all = [...new Set(MODEL_ALIASES.flatMap((alias) => aliases[alias]))];
  return all.filter((id) => {
    try {
      const ref = parseModelRef(id, config.defaultProvider);
      if (!config.allowedProviders.includes(ref.provider)) return true;
      return ref.endpoint !== undefined && !Object.hasOwn(config.endpoints, ref.endpoint);
    } catch {
      return true;
    }
  });
}
