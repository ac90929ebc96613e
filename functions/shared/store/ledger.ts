import * as z from 'zod';
import { NotFoundError } from '../errors';
import { keys } from './keys';
import { conditional, Expression, type Table } from './table';

/**
 * One model call as billed: the ledger's source of truth (one item per conversation turn). A
 * `sandbox` entry bills the sandbox time a turn's tool calls used (model `sandbox`, no tokens).
 */
export const LedgerEntry = z.object({
  /** Absent on model calls (and on every entry written before sandbox time was billed). */
  kind: z.enum(['model', 'sandbox']).optional(),
  /** kind `sandbox`: the seconds billed. */
  sandboxSeconds: z.number().nonnegative().optional(),
  runId: z.string(),
  /** Whose totals the call adds to: the run's (absent), or the copilot ask `runId` names. */
  account: z.enum(['run', 'ask']).optional(),
  stage: z.string(),
  conversationId: z.string(),
  turn: z.number().int().nonnegative(),
  model: z.string(),
  /** The provider that answered; absent on entries written before providers existed. */
  provider: z.string().optional(),
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cacheReadTokens: z.number().int().nonnegative(),
  cacheWriteTokens: z.number().int().nonnegative(),
  /** The cache writes split by lifetime (they are priced differently); they sum to cacheWriteTokens. */
  cacheWrite5mTokens: z.number().int().nonnegative().optional(),
  cacheWrite1hTokens: z.number().int().nonnegative().optional(),
  costUsd: z.number().nonnegative(),
  latencyMs: z.number().nonnegative(),
  at: z.string(),
});
export type LedgerEntry = z.infer<typeof LedgerEntry>;

export interface LedgerStore {
  /**
   * Exactly once per (conversationId, turn): a conditional put of the ledger entry and a
   * conditional ADD to the run's totals (guarded by a set of applied call keys on the run item,
   * without bumping `version`). Safe to call again after a crash between the two.
   */
  recordLlmCall(entry: LedgerEntry): Promise<void>;
  /**
   * The sandbox time of one turn, exactly once per (conversationId, turn): the entry (kind
   * `sandbox`), and the run's costUsd and sandboxSeconds totals; llmCalls and tokens untouched.
   */
  recordSandboxRun(entry: SandboxLedgerEntry): Promise<void>;
  listLedger(runId: string): Promise<LedgerEntry[]>;
}

export type SandboxLedgerEntry = Pick<
  LedgerEntry,
  'runId' | 'stage' | 'conversationId' | 'turn' | 'costUsd' | 'latencyMs' | 'at'
> & { sandboxSeconds: number };

/** A sandbox entry as stored: a ledger entry without tokens. */
export const sandboxLedgerEntry = (entry: SandboxLedgerEntry): LedgerEntry =>
  LedgerEntry.parse({
    ...entry,
    kind: 'sandbox',
    model: 'sandbox',
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
  });

/** The run item's applied-calls key of a turn's sandbox time (model calls use `<conv>#<turn>`). */
export const sandboxCallKey = (conversationId: string, turn: number) => `sandbox#${conversationId}#${turn}`;

export function dynamoLedger(t: Table): LedgerStore {
  return {
    /**
     * 1. PutItem RUN#<id>/CALL#<conv>#<turn> if attribute_not_exists(pk) (a repeat is ignored);
     * 2. UpdateItem RUN#<id>/RUN if NOT contains(appliedCalls, "<conv>#<turn>"): SET ledger.* =
     *    ledger.* + the entry's counts, ADD the call key to appliedCalls; version is untouched.
     * Each step is idempotent on its own, so calling again after a crash between them is safe.
     */
    async recordLlmCall(entry) {
      const parsed = LedgerEntry.parse(entry);
      await conditional(
        t.put(
          { ...keys.runLedger(parsed.runId, parsed.conversationId, parsed.turn), ...parsed },
          'attribute_not_exists(pk)',
        ),
      );
      const expr = new Expression();
      const ledger = expr.name('ledger');
      const add = (field: string, amount: number) => {
        const path = `${ledger}.${expr.name(field)}`;
        return `${path} = ${path} + ${expr.value(amount)}`;
      };
      const applied = expr.name('appliedCalls');
      const callKey = `${parsed.conversationId}#${parsed.turn}`;
      const owner = parsed.account === 'ask' ? keys.ask(parsed.runId) : keys.run(parsed.runId);
      const added = await conditional(
        t.update({
          Key: owner,
          UpdateExpression: `SET ${[
            add('llmCalls', 1),
            add('inputTokens', parsed.inputTokens),
            add('outputTokens', parsed.outputTokens),
            add('cacheReadTokens', parsed.cacheReadTokens),
            add('cacheWriteTokens', parsed.cacheWriteTokens),
            add('costUsd', parsed.costUsd),
          ].join(', ')} ADD ${applied} ${expr.value(new Set([callKey]))}`,
          ConditionExpression: `attribute_exists(pk) AND NOT contains(${applied}, ${expr.value(callKey)})`,
          ...expr.attributes,
        }),
      );
      // Not applied now: the run is missing, or the totals already count this call (once).
      if (!added && !(await t.get(owner)))
        throw new NotFoundError(`${parsed.account ?? 'run'} ${parsed.runId}`);
    },

    /**
     * 1. PutItem RUN#<id>/CALL#<conv>#<turn>#sandbox if attribute_not_exists(pk);
     * 2. UpdateItem RUN#<id>/RUN if NOT contains(appliedCalls, "sandbox#<conv>#<turn>"): SET
     *    ledger.costUsd += cost, ledger.sandboxSeconds = if_not_exists(…, 0) + seconds, ADD the key.
     */
    async recordSandboxRun(entry) {
      const parsed = sandboxLedgerEntry(entry);
      await conditional(
        t.put(
          { ...keys.runSandboxLedger(parsed.runId, parsed.conversationId, parsed.turn), ...parsed },
          'attribute_not_exists(pk)',
        ),
      );
      const expr = new Expression();
      const ledger = expr.name('ledger');
      const cost = `${ledger}.${expr.name('costUsd')}`;
      const seconds = `${ledger}.${expr.name('sandboxSeconds')}`;
      const applied = expr.name('appliedCalls');
      const callKey = sandboxCallKey(parsed.conversationId, parsed.turn);
      const added = await conditional(
        t.update({
          Key: keys.run(parsed.runId),
          UpdateExpression: `SET ${cost} = ${cost} + ${expr.value(parsed.costUsd)}, ${seconds} = if_not_exists(${seconds}, ${expr.value(0)}) + ${expr.value(entry.sandboxSeconds)} ADD ${applied} ${expr.value(new Set([callKey]))}`,
          ConditionExpression: `attribute_exists(pk) AND NOT contains(${applied}, ${expr.value(callKey)})`,
          ...expr.attributes,
        }),
      );
      const owner = parsed.account === 'ask' ? keys.ask(parsed.runId) : keys.run(parsed.runId);
      if (!added && !(await t.get(owner)))
        throw new NotFoundError(`${parsed.account ?? 'run'} ${parsed.runId}`);
    },

    /** Query pk=RUN#<id> begins_with(sk, "CALL#") (all pages, bounded). */
    async listLedger(runId) {
      const items = await t.queryAll(keys.run(runId).pk, keys.runLedgerPrefix);
      return items.map((i) => LedgerEntry.parse(i));
    },
  };
}
