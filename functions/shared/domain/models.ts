import * as z from 'zod';
import {
  claudeModelOfBedrockId,
  EndpointName,
  OpenAiEndpoint,
  PROVIDERS,
  Provider,
  parseModelRef,
} from './providers';
import {
  DEFAULT_MAX_THINKING_BUDGET,
  MAX_THINKING_BUDGET,
  ThinkingBudget,
  type ThinkingBudgets,
} from './thinking';

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

/**
 * Sonnet 4.6 first; on overload, Opus 4.6 (the same generation's behaviour, dearer). Claude Sonnet
 * 4.5 reached its end of life on 2026-11-30 and is no longer a fallback.
 */
export const DEFAULT_MODEL_ALIASES: ModelAliases = {
  planner: ['claude-sonnet-4-6', 'claude-opus-4-6'],
  coder: ['claude-sonnet-4-6', 'claude-opus-4-6'],
  reviewer: ['claude-sonnet-4-6', 'claude-opus-4-6'],
  fast: ['claude-haiku-4-5'],
};

/**
 * The same choice on Amazon Bedrock (the deployment's default provider when it has no Anthropic
 * key): global cross-region inference profiles, offered in every commercial region.
 */
export const DEFAULT_BEDROCK_MODEL_ALIASES: ModelAliases = {
  planner: ['global.anthropic.claude-sonnet-4-6', 'global.anthropic.claude-opus-4-6-v1'],
  coder: ['global.anthropic.claude-sonnet-4-6', 'global.anthropic.claude-opus-4-6-v1'],
  reviewer: ['global.anthropic.claude-sonnet-4-6', 'global.anthropic.claude-opus-4-6-v1'],
  fast: ['global.anthropic.claude-haiku-4-5-20251001-v1:0'],
};

// Up to 1000 USD per million tokens, in whole micro-dollars (6 decimals) so sums stay exact.
const UsdPerMTok = z
  .number()
  .min(0)
  .max(1000)
  .refine((n) => Math.abs(n * 1e6 - Math.round(n * 1e6)) < 1e-3, { error: 'at most 6 decimals' });

const Rates = {
  input: UsdPerMTok,
  output: UsdPerMTok,
  cacheWrite5m: UsdPerMTok,
  cacheWrite1h: UsdPerMTok,
  cacheRead: UsdPerMTok,
};

/**
 * A model's rates; `longPrompt` is a second tier some models have: a request whose prompt (input,
 * cache reads and cache writes together) is over `thresholdTokens` pays those rates on every token
 * of that request, output included.
 */
export const ModelPrice = z.strictObject({
  ...Rates,
  longPrompt: z.strictObject({ thresholdTokens: z.number().int().positive(), ...Rates }).optional(),
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

/** A rate card whose cache reads cost 0.05 × input (Opus 5.5, Sonnet 5.5 from 2026-10-07). */
const cheapReads = (input: number, output: number): ModelPrice => ({
  ...standard(input, output),
  cacheRead: Math.round(input * 0.05 * 1e6) / 1e6,
});

/**
 * Anthropic list prices, USD per million tokens, as the models pages and
 * platform.claude.com/docs/en/about-claude/pricing publish them (checked 2026-12).
 */
export const DEFAULT_PRICES: PriceTable = {
  'claude-fable-5-1': standard(10, 50),
  'claude-fable-5': standard(10, 50),
  'claude-opus-5-5': cheapReads(4, 20),
  'claude-opus-5': standard(5, 25),
  'claude-sonnet-5-5': cheapReads(2, 10),
  'claude-sonnet-5': standard(2, 10),
  // Priced by prompt length: up to 100,000 tokens, then every token of the request at the long rates.
  'claude-haiku-5-5': {
    input: 0.1,
    output: 0.5,
    cacheWrite5m: 0.125,
    cacheWrite1h: 0.2,
    cacheRead: 0.01,
    longPrompt: {
      thresholdTokens: 100_000,
      input: 0.5,
      output: 2.5,
      cacheWrite5m: 0.625,
      cacheWrite1h: 1,
      cacheRead: 0.05,
    },
  },
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
 * Context windows (input plus output, tokens) as the models pages publish them; a model not listed
 * is taken to have the smallest current window, so trimming starts early rather than late.
 */
const CONTEXT_WINDOWS: Record<string, number> = {
  'claude-fable-5-1': 1_000_000,
  'claude-fable-5': 1_000_000,
  'claude-opus-5-5': 1_000_000,
  'claude-opus-5': 1_000_000,
  'claude-sonnet-5-5': 1_000_000,
  'claude-sonnet-5': 1_000_000,
  'claude-haiku-5-5': 1_000_000,
};
export const DEFAULT_CONTEXT_WINDOW = 200_000;

/** A Claude id without a provider prefix, region prefix or snapshot suffix. */
const bareModelId = (model: string): string =>
  model
    .replace(/^(anthropic|bedrock):/, '')
    .replace(/^([a-z]{2,6}\.)?anthropic\./, '')
    .replace(/(-\d{8})?(-v\d+(:\d+)?)?$/, '');

/**
 * The most output tokens (max_tokens, thinking included) each model accepts, as the models pages
 * publish them; a request over it is the API's 400 (`max_tokens: 48000 > 32000, which is the
 * maximum allowed number of output tokens for claude-opus-4-1`). A model not listed is not capped.
 */
const MAX_OUTPUT_TOKENS: Record<string, number> = {
  'claude-opus-4-0': 32_000,
  'claude-opus-4-1': 32_000,
  'claude-sonnet-4-0': 64_000,
  'claude-sonnet-4-5': 64_000,
  'claude-sonnet-4-6': 64_000,
  'claude-haiku-4-5': 64_000,
  'claude-opus-4-5': 64_000,
  'claude-opus-4-6': 128_000,
  'claude-opus-4-7': 128_000,
  'claude-opus-4-8': 128_000,
};

/** The model's output ceiling (see MAX_OUTPUT_TOKENS), or undefined when it is not known. */
export function maxOutputTokensOf(model: string): number | undefined {
  return MAX_OUTPUT_TOKENS[bareModelId(model)];
}

/** The model's context window: by id, without a provider prefix, region prefix or snapshot suffix. */
export function contextWindowOf(model: string): number {
  return CONTEXT_WINDOWS[bareModelId(model)] ?? DEFAULT_CONTEXT_WINDOW;
}

/**
 * How a model takes extended thinking, as the extended-thinking docs say: a fixed budget
 * (`{type: "enabled", budget_tokens}`) up to Claude 4.6; Claude 4.7 and later (Opus 4.7, the 5
 * generation, Fable) refuse it with a 400 and think adaptively (`{type: "adaptive"}`), bounded by
 * max_tokens only.
 */
export function thinkingModeOf(model: string): 'enabled' | 'adaptive' {
  const version = /^claude-[a-z]+-(\d+)(?:-(\d{1,2}))?(?:-|$)/.exec(bareModelId(model));
  if (!version) return 'enabled';
  const major = Number(version[1]);
  const minor = Number(version[2] ?? 0);
  return major > 4 || (major === 4 && minor >= 7) ? 'adaptive' : 'enabled';
}

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
  /** Extended thinking: a budget per stage, and the most a repository's factory.yml may ask for. */
  thinking: z
    .strictObject({
      plan: ThinkingBudget.optional(),
      implement: ThinkingBudget.optional(),
      review: ThinkingBudget.optional(),
      maxBudgetTokens: z.number().int().min(0).max(MAX_THINKING_BUDGET).optional(),
    })
    .optional(),
});

export interface ResolvedModelConfig {
  aliases: ModelAliases;
  prices: PriceTable;
  defaultProvider: Provider;
  endpoints: Record<string, OpenAiEndpoint>;
  allowedProviders: Provider[];
  /** Budgets by stage (none by default) and the repositories' cap (thinking.ts). */
  thinking: { budgets: ThinkingBudgets; maxBudgetTokens: number };
}

const NO_THINKING = { budgets: {}, maxBudgetTokens: DEFAULT_MAX_THINKING_BUDGET };

/** Parses MODEL_CONFIG (JSON; unset = defaults). Throws with the field paths when invalid. */
export function parseModelConfig(json: string | undefined): ResolvedModelConfig {
  if (json === undefined || json.trim() === '') {
    return {
      aliases: { ...DEFAULT_MODEL_ALIASES },
      prices: { ...DEFAULT_PRICES },
      defaultProvider: 'anthropic',
      endpoints: {},
      allowedProviders: ['anthropic'],
      thinking: { ...NO_THINKING },
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
  const defaultProvider = parsed.data.defaultProvider ?? 'anthropic';
  const builtIn = defaultProvider === 'bedrock' ? DEFAULT_BEDROCK_MODEL_ALIASES : DEFAULT_MODEL_ALIASES;
  const aliases = { ...builtIn, ...parsed.data.aliases };
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
    thinking: thinkingOf(parsed.data.thinking),
  };
}

function thinkingOf(config: z.infer<typeof ModelConfig>['thinking']): ResolvedModelConfig['thinking'] {
  if (!config) return { ...NO_THINKING };
  const { maxBudgetTokens, ...budgets } = config;
  return { budgets, maxBudgetTokens: maxBudgetTokens ?? DEFAULT_MAX_THINKING_BUDGET };
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
