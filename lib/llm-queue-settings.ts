/**
 * The LLM queue, its dead-letter queue and their consumers, derived from the deployment's `llm`
 * settings. The CDK stack and the embedded stack (local/stack.ts) both build from this, so a
 * redelivery, a dead-lettering or a timed-out worker behaves locally as it does when deployed.
 * Plain numbers only: the embedded stack must not load CDK.
 */

export const LLM_DEFAULTS = { maxConcurrency: 5, workerTimeoutSeconds: 300 } as const;

export interface LlmSettingsInput {
  maxConcurrency: number;
  workerTimeoutSeconds: number;
}

export interface LlmQueueSettings {
  worker: { timeoutSeconds: number; batchSize: number; maxConcurrency: number };
  /** One model request's own limit, inside the worker's. */
  callTimeoutSeconds: number;
  queue: { visibilityTimeoutSeconds: number; maxReceiveCount: number; retentionDays: number };
  deadLetter: {
    handlerTimeoutSeconds: number;
    visibilityTimeoutSeconds: number;
    batchSize: number;
    maxConcurrency: number;
    retentionDays: number;
  };
}

/** AWS's guidance for Lambda event sources: visibility ≥ 6 × the function timeout. */
export const VISIBILITY_PER_WORKER_TIMEOUT = 6;

/** The DLQ consumer only fails task tokens: a few Step Functions calls per batch. */
const DEAD_LETTER_HANDLER_TIMEOUT_SECONDS = 10;

/**
 * Receives before a message goes to the DLQ. Every delay the worker asks for (a 429's
 * retry-after, a 529 backoff, pacing) is a receive: ten leave room for a rate-limit storm, and
 * the turn's own timeout still bounds how long a run waits.
 */
const MAX_RECEIVE_COUNT = 10;

/** One message per invocation: a model turn can take most of the timeout, so batching would only make turns wait on each other. */
const WORKER_BATCH_SIZE = 1;

export function llmQueueSettings(llm: LlmSettingsInput): LlmQueueSettings {
  return {
    worker: {
      timeoutSeconds: llm.workerTimeoutSeconds,
      batchSize: WORKER_BATCH_SIZE,
      maxConcurrency: llm.maxConcurrency,
    },
    callTimeoutSeconds: llmCallTimeoutSeconds(llm.workerTimeoutSeconds),
    queue: {
      visibilityTimeoutSeconds: llm.workerTimeoutSeconds * VISIBILITY_PER_WORKER_TIMEOUT,
      maxReceiveCount: MAX_RECEIVE_COUNT,
      retentionDays: 4,
    },
    deadLetter: {
      handlerTimeoutSeconds: DEAD_LETTER_HANDLER_TIMEOUT_SECONDS,
      visibilityTimeoutSeconds: DEAD_LETTER_HANDLER_TIMEOUT_SECONDS * VISIBILITY_PER_WORKER_TIMEOUT,
      // A dead turn whose failure Step Functions did not take comes back alone (partial batch failures).
      batchSize: 10,
      maxConcurrency: 2,
      retentionDays: 14,
    },
  };
}

/**
 * One model request must end (answered or timed out) before the worker Lambda is killed, so the
 * worker can still record the outcome and delay the message; the rest is for that bookkeeping.
 */
export function llmCallTimeoutSeconds(workerTimeoutSeconds: number): number {
  return Math.max(5, workerTimeoutSeconds - Math.min(20, Math.ceil(workerTimeoutSeconds / 4)));
}
