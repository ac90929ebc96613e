import * as z from 'zod';
import { keys, PRIVATE_SOURCE_TTL_SECONDS } from './keys';
import { conditional, type Table } from './table';

/** A conversation's stable prefix, written once when an agent loop starts. */
export const ConversationMeta = z.object({
  conversationId: z.string().min(1),
  runId: z.string(),
  stage: z.string(),
  modelAlias: z.enum(['planner', 'coder', 'reviewer', 'fast']),
  system: z.string(),
  tools: z.array(
    z.object({ name: z.string(), description: z.string(), input_schema: z.record(z.string(), z.unknown()) }),
  ),
  maxTokens: z.number().int().positive(),
  /** Extended thinking: the budget each call may think in, on top of maxTokens (absent: none). */
  thinkingBudgetTokens: z.number().int().positive().optional(),
  /** Model ids for the alias, resolved by the stage runner from the repo's contract: first is preferred. */
  models: z.array(z.string()),
  /** The run's budget in USD; the worker reserves against it before every call. */
  budgetUsd: z.number().nonnegative(),
  /** The repo's monthly cap, if its contract sets one: reserved too, per calendar month (UTC). */
  monthlyBudget: z.object({ repo: z.string(), limitUsd: z.number().positive() }).optional(),
  /** A copilot ask's cap: the asking API key's daily account (`askDailyAccount`), reserved too. */
  dailyBudget: z.object({ account: z.string(), limitUsd: z.number().positive() }).optional(),
  /** Whose ledger totals the turns add to: a run's (absent) or a copilot ask's (store/asks.ts). */
  account: z.enum(['run', 'ask']).optional(),
  createdAt: z.string(),
});
export type ConversationMeta = z.infer<typeof ConversationMeta>;

/** One message of an LLM conversation, stored turn by turn. */
export const ConversationTurn = z.object({
  conversationId: z.string().min(1),
  turn: z.number().int().nonnegative(),
  runId: z.string(),
  stage: z.string(),
  role: z.enum(['user', 'assistant']),
  /** Anthropic content blocks; large tool outputs truncated with a marker before storing. */
  content: z.custom<unknown>(() => true),
  model: z.string().optional(),
  stopReason: z.string().optional(),
  usage: z.record(z.string(), z.number()).optional(),
  costUsd: z.number().optional(),
  /** On a tool-result turn: what the stage runner decided from it (lets a retried step answer alike). */
  outcome: z.string().optional(),
  /** Set once the turn's cost is settled on every budget account (see BudgetStore.forgetSettlement). */
  settled: z.boolean().optional(),
  createdAt: z.string(),
});
export type ConversationTurn = z.infer<typeof ConversationTurn>;

export interface ConversationStore {
  putConversation(meta: ConversationMeta): Promise<void>;
  /** One Query of the conversation's partition: its meta and every turn, in order. */
  getConversationWithTurns(
    conversationId: string,
  ): Promise<{ meta?: ConversationMeta; turns: ConversationTurn[] }>;
  putTurn(turn: ConversationTurn): Promise<{ first: boolean; existing?: ConversationTurn }>;
  /** UpdateItem: the turn's cost is settled on every budget account. */
  markTurnSettled(conversationId: string, turn: number): Promise<void>;
  getTurn(conversationId: string, turn: number): Promise<ConversationTurn | undefined>;
}

export function dynamoConversations(t: Table): ConversationStore {
  return {
    /** PutItem CONV#<id>/META if attribute_not_exists(pk): written once, a retried start keeps it. */
    async putConversation(meta) {
      const parsed = ConversationMeta.parse(meta);
      await conditional(
        t.put(
          {
            ...keys.conversation(parsed.conversationId),
            ...parsed,
            expiresAt: t.expiry(PRIVATE_SOURCE_TTL_SECONDS),
          },
          'attribute_not_exists(pk)',
        ),
      );
    },

    /** Query pk=CONV#<id> (META sorts before TURN#), ascending, all pages (bounded): one request per page. */
    async getConversationWithTurns(conversationId) {
      const conversation = keys.conversation(conversationId);
      let meta: ConversationMeta | undefined;
      const turns: ConversationTurn[] = [];
      const items = await t.queryEvery({
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': conversation.pk },
      });
      for (const item of items) {
        if (!t.isLive(item)) continue;
        if (item.sk === conversation.sk) meta = ConversationMeta.parse(item);
        else if (typeof item.sk === 'string' && item.sk.startsWith(keys.turnPrefix)) {
          turns.push(ConversationTurn.parse(item));
        }
      }
      return { ...(meta ? { meta } : {}), turns };
    },

    /** PutItem CONV#<id>/TURN#<n> (expiring) if attribute_not_exists(pk): first writer wins, others get it. */
    async putTurn(turn) {
      const parsed = ConversationTurn.parse(turn);
      const key = keys.turn(parsed.conversationId, parsed.turn);
      const expiresAt = t.expiry(PRIVATE_SOURCE_TTL_SECONDS);
      if (await conditional(t.put({ ...key, ...parsed, expiresAt }, 'attribute_not_exists(pk)')))
        return { first: true };
      const existing = await t.get(key);
      return { first: false, existing: existing ? ConversationTurn.parse(existing) : undefined };
    },

    /** UpdateItem CONV#<id>/TURN#<n> SET settled = true if the turn exists. */
    async markTurnSettled(conversationId, turn) {
      await conditional(
        t.update({
          Key: keys.turn(conversationId, turn),
          UpdateExpression: 'SET #settled = :true',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#settled': 'settled' },
          ExpressionAttributeValues: { ':true': true },
        }),
      );
    },

    /** GetItem CONV#<id>/TURN#<n>; an expired turn is absent. */
    async getTurn(conversationId, turn) {
      const item = await t.get(keys.turn(conversationId, turn));
      return item && t.isLive(item) ? ConversationTurn.parse(item) : undefined;
    },
  };
}
