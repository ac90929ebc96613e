import * as z from 'zod';
import type {
  BudgetStore,
  CacheStore,
  ClaimStore,
  Clock,
  ConversationStore,
  EventStore,
  LedgerStore,
  Llm,
  LlmUsage,
  Log,
  Queue,
  RunStore,
  Workflow,
} from '../shared/ports';
import type { ModelPacer } from './pacing';

/** The LLM queue message (SPEC §4). */
export const LlmMessage = z.object({
  taskToken: z.string().min(1).max(4096),
  runId: z.string().min(1).max(64),
  stage: z.string().min(1).max(40),
  conversationId: z.string().min(1).max(80),
  turn: z.number().int().min(1).max(200),
  modelAlias: z.enum(['planner', 'coder', 'reviewer', 'fast']),
});
export type LlmMessage = z.infer<typeof LlmMessage>;

export type LlmResponse = Awaited<ReturnType<Llm['createMessage']>>;

/** What the state machine receives: a pointer to the stored turn, never its content. */
export interface TurnResult {
  conversationId: string;
  turn: number;
  stopReason: string;
  toolNames: string[];
  model: string;
}

export interface Pricing {
  costUsd(model: string, usage: LlmUsage): number;
  /** Whether the model has a price (unset: every model is priced). */
  isPriced?(model: string): boolean;
  /** Worst case of a call: all input uncached plus `maxTokens` of output. */
  worstCaseUsd(model: string, inputTokens: number, maxTokens: number): number;
}

export interface LlmWorkerPorts {
  store: RunStore & EventStore & ConversationStore & LedgerStore & BudgetStore & ClaimStore & CacheStore;
  workflow: Workflow;
  queue: Queue;
  llm: Llm;
  clock: Clock;
  log: Log;
  pricing: Pricing;
  /** Per-model pacing memory of this container; by default one per deps object (see pacerOf). */
  pacer?: ModelPacer;
  /**
   * How long a turn's lease outlives a worker that died holding it: longer than one invocation
   * can run (the model call's timeout and the bookkeeping around it), shorter than the queue's
   * visibility timeout, so the redelivery after a crash finds it expired.
   */
  turnLeaseSeconds?: number;
}

/** How this delivery of the message was received (from the SQS record). */
export interface Delivery {
  /** The SQS message id: the same across redeliveries of one message, different for a duplicate send. */
  messageId: string;
  receiptHandle: string;
  receiveCount: number;
}

/** Thrown to leave the message on the queue: it comes back after the visibility we set. */
export class RetryLater extends Error {
  constructor(
    readonly reason: string,
    readonly delaySeconds: number,
  ) {
    super(`retry in ${delaySeconds}s: ${reason}`);
    this.name = 'RetryLater';
  }
}
