import { createHash } from 'node:crypto';
import {
  blocksOf,
  type CacheControl,
  type MessagesRequest,
  type ResponseBlock,
  type TextBlockParam,
  textOfBlock,
  type Usage,
} from './api';

/**
 * Deterministic token accounting and a prompt-cache emulation for the model stand-in.
 *
 * Tokens are estimated as ceil(chars / 4) per block. The cache follows Anthropic's documented
 * behaviour closely enough for the ledger to be meaningful:
 * - the prompt is the ordered block list tools → system → messages;
 * - a block with `cache_control` is a breakpoint: the prefix up to it is written to the cache
 *   (5 minutes, or 1 hour with `ttl: '1h'`) unless already cached;
 * - a later request reads the longest cached prefix found at a breakpoint or up to 20 blocks
 *   before one (the API's lookback), for the same model; a hit refreshes the entry's lifetime;
 * - prefixes shorter than `minCacheableTokens` are not cached (the real API's minimum is 1024–4096
 *   tokens depending on the model; the stand-in defaults to 0 so the tiny sample repo shows reads).
 */

export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

const LOOKBACK_BLOCKS = 20;
const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;
/** Bounds the stand-in's memory: expired entries go first, then the oldest. */
const MAX_ENTRIES = 10_000;

interface PromptBlock {
  /** Canonical text of the block without its cache_control: what the cache key hashes. */
  canonical: string;
  tokens: number;
  breakpoint?: '5m' | '1h';
}

const ttlOf = (control: CacheControl | undefined): '5m' | '1h' | undefined =>
  control?.type === 'ephemeral' ? (control.ttl === '1h' ? '1h' : '5m') : undefined;

/** The request as the ordered block list the cache sees: tools, then system, then messages. */
export function promptBlocks(request: MessagesRequest): PromptBlock[] {
  const blocks: PromptBlock[] = [];
  for (const tool of request.tools ?? []) {
    const canonical = JSON.stringify({
      name: tool.name,
      description: tool.description ?? '',
      input_schema: tool.input_schema,
    });
    blocks.push({ canonical, tokens: estimateTokens(canonical), breakpoint: ttlOf(tool.cache_control) });
  }
  const system: TextBlockParam[] =
    typeof request.system === 'string'
      ? [{ type: 'text', text: request.system }]
      : Array.isArray(request.system)
        ? request.system
        : [];
  for (const block of system) {
    blocks.push({
      canonical: `system:${block.text}`,
      tokens: estimateTokens(block.text),
      breakpoint: ttlOf(block.cache_control),
    });
  }
  for (const message of request.messages) {
    for (const block of blocksOf(message)) {
      const text = textOfBlock(block);
      const { cache_control: control, ...rest } = block;
      blocks.push({
        canonical: `${message.role}:${JSON.stringify(rest)}`,
        tokens: estimateTokens(text),
        breakpoint: ttlOf(control),
      });
    }
  }
  return blocks;
}

/** input_tokens for count_tokens: every block, no cache involved. */
export const countInputTokens = (request: MessagesRequest): number =>
  promptBlocks(request).reduce((sum, b) => sum + b.tokens, 0);

export function outputTokensOf(content: ResponseBlock[]): number {
  const text = content
    .map((b) =>
      b.type === 'text'
        ? b.text
        : b.type === 'thinking'
          ? b.thinking
          : `${b.name} ${JSON.stringify(b.input)}`,
    )
    .join('');
  return Math.max(1, estimateTokens(text));
}

export class PromptCache {
  private readonly entries = new Map<string, { expiresAt: number; ttl: '5m' | '1h' }>();

  constructor(
    private readonly now: () => number,
    private readonly minCacheableTokens = 0,
  ) {}

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(now: number): void {
    if (this.entries.size <= MAX_ENTRIES) return;
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    for (const key of this.entries.keys()) {
      if (this.entries.size <= MAX_ENTRIES) break;
      this.entries.delete(key);
    }
  }

  /** Usage of one request (without output tokens), updating the cache as the API would. */
  account(request: MessagesRequest): Omit<Usage, 'output_tokens'> {
    const blocks = promptBlocks(request);
    const now = this.now();
    const keys: string[] = [];
    const cumulative: number[] = [];
    let hash = createHash('sha256').update(request.model).digest('hex');
    let total = 0;
    for (const block of blocks) {
      hash = createHash('sha256').update(hash).update('\0').update(block.canonical).digest('hex');
      total += block.tokens;
      keys.push(hash);
      cumulative.push(total);
    }
    const breakpoints = blocks.flatMap((b, i) => (b.breakpoint ? [i] : []));

    // Longest live prefix at a breakpoint or within the lookback window before one.
    let hit = -1;
    for (const point of breakpoints) {
      for (let i = point; i >= Math.max(0, point - LOOKBACK_BLOCKS + 1) && i > hit; i--) {
        const entry = this.entries.get(keys[i] ?? '');
        if (entry && entry.expiresAt > now) {
          hit = i;
          break;
        }
      }
    }
    if (hit >= 0) {
      const entry = this.entries.get(keys[hit] ?? '');
      if (entry) entry.expiresAt = now + TTL_MS[entry.ttl];
    }
    const cacheRead = hit >= 0 ? (cumulative[hit] ?? 0) : 0;

    // Writes: each breakpoint past the hit caches its prefix; the tokens since the previous
    // cached point are billed at that breakpoint's TTL.
    let written = { '5m': 0, '1h': 0 };
    let end = hit;
    for (const point of breakpoints) {
      if (point <= hit) continue;
      const ttl = blocks[point]?.breakpoint ?? '5m';
      const prefixTokens = cumulative[point] ?? 0;
      if (prefixTokens < this.minCacheableTokens || prefixTokens === 0) continue;
      const previous = end >= 0 ? (cumulative[end] ?? 0) : 0;
      written = { ...written, [ttl]: written[ttl] + (prefixTokens - previous) };
      this.entries.set(keys[point] ?? '', { expiresAt: now + TTL_MS[ttl], ttl });
      end = point;
    }
    this.prune(now);
    const cacheWrite = written['5m'] + written['1h'];
    return {
      input_tokens: total - cacheRead - cacheWrite,
      cache_creation_input_tokens: cacheWrite,
      cache_read_input_tokens: cacheRead,
      cache_creation: { ephemeral_5m_input_tokens: written['5m'], ephemeral_1h_input_tokens: written['1h'] },
      service_tier: 'standard',
    };
  }
}
