import type { Env } from '../shared/config';
import { log, metrics } from '../shared/middleware';
import { makeWorkflow } from '../shared/runtime';
import type { LlmDlqDeps } from './app';

export function llmDlqDeps(config: Env): LlmDlqDeps {
  return {
    workflow: makeWorkflow(config),
    log,
    countDeadLetter: (count) => {
      // Alarm-worthy: every dead letter is a model turn that never got an answer.
      metrics.addMetric('LlmDeadLetters', 'Count', count);
    },
  };
}
