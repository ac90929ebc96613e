import type { Env } from '../shared/config';
import { parseModelConfig } from '../shared/domain/models';
import { log } from '../shared/middleware';
import { cryptoIds, makeStore, systemClock } from '../shared/runtime';
import type { CopilotPorts } from './ports';

/** Real ports for the copilot function (Lambda's handler.ts and the embedded stack both use it). */
export function copilotPorts(config: Env): CopilotPorts {
  return {
    store: makeStore(config),
    clock: systemClock,
    ids: cryptoIds,
    log,
    models: parseModelConfig(config.MODEL_CONFIG).aliases.fast,
    budget: { askUsd: config.COPILOT_ASK_BUDGET_USD, dailyUsd: config.COPILOT_DAILY_BUDGET_USD },
  };
}
