import { describe, expect, it } from 'vitest';
import { HANDLER_ENV } from '../../../bench/bundles';
import { env } from '../../../functions/shared/config';

describe('bench/bundles.ts', () => {
  it("imports the bundles with an environment the handlers' own parser accepts", () => {
    // A variable added to the contract but not here makes every cold import throw at module scope.
    expect(() => env({ ...HANDLER_ENV })).not.toThrow();
  });
});
