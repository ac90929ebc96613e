import { describe, expect, it } from 'vitest';
import { AdmissionRefusedError, withRetryBudget } from '../../../functions/stages/admit';
import type { RunContract } from '../../../functions/shared/run-contract';

const contract = (monthlyBudgetUsd?: number) =>
  ({ budgetUsd: 5, ...(monthlyBudgetUsd ? { monthlyBudgetUsd } : {}) }) as unknown as RunContract;

describe("a retry's budget_usd", () => {
  it("replaces the repository's budget within the cap", () => {
    expect(withRetryBudget(contract(), undefined).budgetUsd).toBe(5);
    expect(withRetryBudget(contract(), 40).budgetUsd).toBe(40);
    expect(withRetryBudget(contract(50), 50).budgetUsd).toBe(50);
  });

  it('is refused over monthly_budget_usd, naming the key', () => {
    expect(() => withRetryBudget(contract(30), 31)).toThrow(AdmissionRefusedError);
    expect(() => withRetryBudget(contract(30), 31)).toThrow(
      /over this repository's cap of \$30\.00 \(monthly_budget_usd/,
    );
  });

  it('is refused over the largest budget_usd a config may set when there is no monthly cap', () => {
    expect(() => withRetryBudget(contract(), 501)).toThrow(/cap of \$500\.00/);
  });
});
