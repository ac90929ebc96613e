import * as z from 'zod';
import { MICROS_PER_USD, microsToUsd } from '../domain/ledger';
import { FactoryError, NotFoundError, ValidationError } from '../errors';
import { keys } from './keys';
import { conditional, Expression, type Table } from './table';

/**
 * A budget account: one item RUN#<id>/BUDGET per run, or per repo and month (monthlyBudgetAccount).
 * It keeps availableMicros = limit - reserved - spent up to date in every write, because a
 * condition expression cannot do arithmetic; `reservations` and `settled` are maps keyed by
 * reservation id, which make reserve and settle idempotent per id within single-item writes.
 */
export const BudgetItem = z.object({
  limitMicros: z.number().int(),
  reservedMicros: z.number().int(),
  spentMicros: z.number().int(),
  availableMicros: z.number().int(),
  reservations: z.record(z.string(), z.number().int()).default({}),
  settled: z.record(z.string(), z.number().int()).default({}),
});
export type BudgetItem = z.infer<typeof BudgetItem>;

export interface BudgetStore {
  /** Reserves `usd` if reserved + spent + usd <= limit. false = refused. */
  reserveBudget(runId: string, reservationId: string, usd: number, limitUsd: number): Promise<boolean>;
  /** Replaces a reservation by the actual cost (idempotent per reservationId). */
  settleBudget(runId: string, reservationId: string, actualUsd: number): Promise<void>;
  /**
   * Drops the settled marker of a reservation once its turn is marked settled (markTurnSettled):
   * the marker only has to outlive the window in which a redelivery could settle again, so a
   * month's account never grows with every call.
   */
  forgetSettlement(runId: string, reservationId: string): Promise<void>;
  getBudget(runId: string): Promise<{ limitUsd: number; reservedUsd: number; spentUsd: number } | undefined>;
}

/**
 * Money in the budget item is integer micro-dollars (1 USD = 1,000,000): DynamoDB adds decimals
 * exactly, but JavaScript floats do not, and the refusal test `available >= amount` must not
 * flip on a rounding error. Converted at this boundary only.
 */
export const usdToMicros = (usd: number): number => {
  if (!Number.isFinite(usd) || usd < 0) throw new ValidationError(`invalid USD amount ${usd}`);
  return Math.round(usd * MICROS_PER_USD);
};

export const checkReservationId = (reservationId: string): void => {
  if (reservationId.length === 0 || reservationId.length > 200) {
    throw new ValidationError('reservation id must have 1 to 200 characters');
  }
};

/** A run's budget before its first reservation. */
export const newBudgetItem = (limitMicros: number): BudgetItem => ({
  limitMicros,
  reservedMicros: 0,
  spentMicros: 0,
  availableMicros: limitMicros,
  reservations: {},
  settled: {},
});

export function dynamoBudget(t: Table): BudgetStore {
  const getBudgetItem = async (runId: string): Promise<BudgetItem | undefined> => {
    const item = await t.get(keys.runBudget(runId));
    return item ? BudgetItem.parse(item) : undefined;
  };

  /** UpdateItem RUN#<id>/BUDGET: limit and available move together, if the limit is still `from`. */
  const changeBudgetLimit = async (runId: string, from: number, to: number): Promise<void> => {
    const expr = new Expression();
    const limit = expr.name('limitMicros');
    const available = expr.name('availableMicros');
    await conditional(
      t.update({
        Key: keys.runBudget(runId),
        UpdateExpression: `SET ${limit} = ${expr.value(to)}, ${available} = ${available} + ${expr.value(to - from)}`,
        ConditionExpression: `${limit} = ${expr.value(from)}`,
        ...expr.attributes,
      }),
    );
  };

  return {
    /**
     * UpdateItem RUN#<id>/BUDGET if the reservation id is new (neither in `reservations` nor in
     * `settled`) AND availableMicros >= amount: SET reservations.<id> = amount, reserved += amount,
     * available -= amount. When the condition fails, a consistent GetItem says why: no item yet →
     * create it with `limitUsd` (PutItem if attribute_not_exists(pk)) and retry; id already seen →
     * true (idempotent); not enough left → false (refused); otherwise the write raced, retry
     * (bounded; fail closed). The caller's limit applies: when the stored one differs (a repo's
     * monthly cap edited mid-month), limit and available are moved together first.
     */
    async reserveBudget(runId, reservationId, usd, limitUsd) {
      checkReservationId(reservationId);
      const amount = usdToMicros(usd);
      const limit = usdToMicros(limitUsd);
      const key = keys.runBudget(runId);
      for (let attempt = 0; attempt < 6; attempt++) {
        const expr = new Expression();
        const reservation = `${expr.name('reservations')}.${expr.name(reservationId)}`;
        const settled = `${expr.name('settled')}.${expr.name(reservationId)}`;
        const reserved = expr.name('reservedMicros');
        const available = expr.name('availableMicros');
        const amountValue = expr.value(amount);
        const reserve = t.update({
          Key: key,
          UpdateExpression: `SET ${reservation} = ${amountValue}, ${reserved} = ${reserved} + ${amountValue}, ${available} = ${available} - ${amountValue}`,
          // The stored limit must be the caller's: a changed cap is applied first (below).
          ConditionExpression: `attribute_exists(pk) AND ${expr.name('limitMicros')} = ${expr.value(limit)} AND attribute_not_exists(${reservation}) AND attribute_not_exists(${settled}) AND ${available} >= ${amountValue}`,
          ...expr.attributes,
        });
        if (await conditional(reserve)) return true;
        const budget = await getBudgetItem(runId);
        if (!budget) {
          await conditional(t.put({ ...key, ...newBudgetItem(limit) }, 'attribute_not_exists(pk)'));
          continue;
        }
        if (reservationId in budget.reservations || reservationId in budget.settled) return true;
        // The limit was changed (a repo's monthly cap edited mid-month): the account follows it.
        if (budget.limitMicros !== limit) {
          await changeBudgetLimit(runId, budget.limitMicros, limit);
          continue;
        }
        // Enough left now: the write raced with the item's creation or a settlement; try again.
        if (budget.availableMicros < amount) return false;
      }
      return false;
    },

    /**
     * Consistent GetItem RUN#<id>/BUDGET, then UpdateItem if reservations.<id> = the amount read
     * AND attribute_not_exists(settled.<id>): REMOVE the reservation, SET settled.<id> = actual,
     * reserved -= amount, spent += actual, available += amount - actual. Settling an id twice is a
     * no-op; settling an id that was never reserved records the spend (and 0 without a budget is a
     * no-op). A lost race re-reads (bounded).
     */
    async settleBudget(runId, reservationId, actualUsd) {
      checkReservationId(reservationId);
      const actual = usdToMicros(actualUsd);
      for (let attempt = 0; attempt < 8; attempt++) {
        const budget = await getBudgetItem(runId);
        if (!budget) {
          if (actual === 0) return;
          throw new NotFoundError(`budget of run ${runId}`);
        }
        if (reservationId in budget.settled) return;
        const held = budget.reservations[reservationId];
        const expr = new Expression();
        const reservation = `${expr.name('reservations')}.${expr.name(reservationId)}`;
        const settled = `${expr.name('settled')}.${expr.name(reservationId)}`;
        const spent = expr.name('spentMicros');
        const available = expr.name('availableMicros');
        const actualValue = expr.value(actual);
        const recordSpend = `${settled} = ${actualValue}, ${spent} = ${spent} + ${actualValue}`;
        let input: { UpdateExpression: string; ConditionExpression: string };
        if (held === undefined) {
          input = {
            UpdateExpression: `SET ${recordSpend}, ${available} = ${available} - ${actualValue}`,
            ConditionExpression: `attribute_not_exists(${reservation}) AND attribute_not_exists(${settled})`,
          };
        } else {
          const reserved = expr.name('reservedMicros');
          const heldValue = expr.value(held);
          input = {
            UpdateExpression: `SET ${recordSpend}, ${reserved} = ${reserved} - ${heldValue}, ${available} = ${available} + ${expr.value(held - actual)} REMOVE ${reservation}`,
            ConditionExpression: `${reservation} = ${heldValue} AND attribute_not_exists(${settled})`,
          };
        }
        if (await conditional(t.update({ Key: keys.runBudget(runId), ...input, ...expr.attributes }))) return;
      }
      throw new FactoryError('BudgetContention', `could not settle reservation on run ${runId}; retry`);
    },

    /** UpdateItem RUN#<id>/BUDGET REMOVE settled.<id> if present (a no-op otherwise). */
    async forgetSettlement(runId, reservationId) {
      checkReservationId(reservationId);
      const expr = new Expression();
      const settled = `${expr.name('settled')}.${expr.name(reservationId)}`;
      await conditional(
        t.update({
          Key: keys.runBudget(runId),
          UpdateExpression: `REMOVE ${settled}`,
          ConditionExpression: `attribute_exists(${settled})`,
          ...expr.attributes,
        }),
      );
    },

    /** GetItem RUN#<id>/BUDGET, converted to USD. */
    async getBudget(runId) {
      const budget = await getBudgetItem(runId);
      if (!budget) return undefined;
      return {
        limitUsd: microsToUsd(budget.limitMicros),
        reservedUsd: microsToUsd(budget.reservedMicros),
        spentUsd: microsToUsd(budget.spentMicros),
      };
    },
  };
}
