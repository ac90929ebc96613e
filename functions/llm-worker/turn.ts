import { createHash } from 'node:crypto';
import * as z from 'zod';
import { canonicalJson } from '../shared/domain/audit';
import { isTerminal } from '../shared/domain/run';
import { LlmError } from '../shared/errors';
import {
  capOf,
  forgetSettlements,
  giveBack,
  monthlyAccountOf,
  releaseTurnReservation,
  reservationId,
  settleTurn,
  turnLeaseKey,
} from '../shared/llm-lease';
import type {
  BudgetStore,
  CacheStore,
  ClaimStore,
  Clock,
  ConversationMeta,
  ConversationStore,
  ConversationTurn,
  EventStore,
  LedgerStore,
  Llm,
  LlmRequest,
  LlmUsage,
  Log,
  Queue,
  RunStore,
  Workflow,
} from '../shared/ports';
import { MAX_TRIM_LEVEL, nextTrimLevel, trimKey, trimmed } from './context-trim';
import { sendableMessages } from './history';
import { maxTokensFor } from './output-budget';
import { ModelPacer } from './pacing';
import { contextWindowOf, unpricedMessage } from '../shared/domain/models';
import { providerPrefixOf } from '../shared/domain/providers';

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

const pacers = new WeakMap<LlmWorkerPorts, ModelPacer>();
/** The container's pacer: the handler keeps one deps object for its lifetime (module scope). */
function pacerOf(deps: LlmWorkerPorts): ModelPacer {
  if (deps.pacer) return deps.pacer;
  let pacer = pacers.get(deps);
  if (!pacer) {
    pacer = new ModelPacer();
    pacers.set(deps, pacer);
  }
  return pacer;
}

/** How this delivery of the message was received (from the SQS record). */
export interface Delivery {
  /** The SQS message id: the same across redeliveries of one message, different for a duplicate send. */
  messageId: string;
  receiptHandle: string;
  receiveCount: number;
}

/**
 * How long one message owns a turn. SQS may deliver copies of a message concurrently: the lease
 * makes sure only one of them calls the model; the others come back later and find the answer.
 * It outlives the queue's visibility timeout, and a crashed owner's lease simply expires.
 */
export const TURN_LEASE_SECONDS = 160;
const LEASE_BUSY_DELAY_SECONDS = 10;

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

/**
 * Failures (529, 429, 5xx, no connection) tolerated on one model in one turn before falling back
 * to the next in the alias's list.
 */
export const OVERLOADED_PER_MODEL = 2;
/** A model that asks to wait longer than this (429 retry-after, or its paced window) is skipped. */
export const FALLBACK_AFTER_WAIT_SECONDS = 60;
/** How soon a turn that fell back to the next model comes back. */
const FALLBACK_DELAY_SECONDS = 1;
const MAX_DELAY_SECONDS = 900;
/** How long a conversation's trim level is remembered (longer than any stage runs). */
const TRIM_MEMORY_SECONDS = 86_400;

const backoffSeconds = (receiveCount: number): number =>
  Math.min(2 ** Math.min(receiveCount, 8), 60) + Math.floor(Math.random() * 3);

const rateLimitDelaySeconds = (error: LlmError): number =>
  Math.min(Math.max(Math.ceil(error.retryAfterSeconds ?? 10), 1), MAX_DELAY_SECONDS);

const overloadKey = (m: LlmMessage) => `llm-overloaded#${m.conversationId}#${m.turn}`;

function toolNamesOf(content: unknown[]): string[] {
  return content
    .filter((b): b is { type: 'tool_use'; name: string } => {
      const block = b as { type?: unknown; name?: unknown };
      return block.type === 'tool_use' && typeof block.name === 'string';
    })
    .map((b) => b.name);
}

const resultOf = (turn: ConversationTurn): TurnResult => ({
  conversationId: turn.conversationId,
  turn: turn.turn,
  stopReason: turn.stopReason ?? 'end_turn',
  toolNames: Array.isArray(turn.content) ? toolNamesOf(turn.content) : [],
  model: turn.model ?? 'unknown',
});

/**
 * One LLM turn, exactly once in effect per (conversationId, turn):
 * stored turn? → re-send it. Otherwise reserve budget (fail closed) → call → store the turn
 * (first writer wins) → record the ledger (idempotent) → settle → answer the task token.
 * Transient model errors throw RetryLater after delaying the message; nothing sleeps here.
 */
export async function processLlmMessage(
  deps: LlmWorkerPorts,
  message: LlmMessage,
  delivery: Delivery,
): Promise<void> {
  const { store, log } = deps;
  // The lease is held per receive (SQS may hand two workers the same message at once, with one
  // MessageId and two receipt handles) and given back when this attempt ends, however it ends.
  // Everything that spends or settles happens under it.
  const leaseKey = turnLeaseKey(message);
  const leased = await store.claimLease(
    leaseKey,
    delivery.receiptHandle,
    deps.turnLeaseSeconds ?? TURN_LEASE_SECONDS,
  );
  if (!leased) {
    log.info('another copy of this turn is in flight: delaying this one', {
      runId: message.runId,
      turn: message.turn,
    });
    await deps.queue.changeVisibility(delivery.receiptHandle, LEASE_BUSY_DELAY_SECONDS);
    throw new RetryLater('turn in flight elsewhere', LEASE_BUSY_DELAY_SECONDS);
  }
  try {
    // One Query: the conversation's meta and turns (the answer, if a previous delivery stored it).
    const { meta, turns } = await store.getConversationWithTurns(message.conversationId);
    const existing = turns.find((t) => t.turn === message.turn);
    if (existing?.role === 'assistant') {
      log.info('turn already answered: re-sending the stored result', {
        runId: message.runId,
        turn: message.turn,
      });
      await finishAccounting(deps, message, existing, meta);
      await answer(deps, message, resultOf(existing));
      return;
    }
    // A message outliving its run (expired token, redelivered after the run ended) must not spend.
    const run = await store.getRun(message.runId);
    if (run && isTerminal(run.status)) {
      log.warn('run already ended: LLM message acknowledged without a model call', {
        runId: message.runId,
        status: run.status,
      });
      // Under the lease: a reservation an earlier attempt made (before a 429, say) is given back,
      // and no other copy is mid-call on it.
      await releaseTurnReservation(deps, message, meta, existing);
      await fail(deps, message, 'LlmProtocolError', `run ${message.runId} already ended`);
      return;
    }
    await callAndRecord(deps, message, delivery, meta, turns);
  } finally {
    await store.releaseLease(leaseKey, delivery.receiptHandle).catch((error: unknown) =>
      log.warn('could not release the turn lease (it expires on its own)', {
        runId: message.runId,
        error: error instanceof Error ? error.name : 'Error',
      }),
    );
  }
}

/** The model call of a leased turn: budget, call, record, settle, answer. */
async function callAndRecord(
  deps: LlmWorkerPorts,
  message: LlmMessage,
  delivery: Delivery,
  meta: ConversationMeta | undefined,
  turns: ConversationTurn[],
): Promise<void> {
  const { store, log } = deps;

  if (!meta || meta.runId !== message.runId) {
    await fail(deps, message, 'LlmProtocolError', 'conversation not found for this run');
    return;
  }
  const history = turns.filter((t) => t.turn < message.turn).sort((a, b) => a.turn - b.turn);
  if (history.length !== message.turn || history.some((t, i) => t.turn !== i)) {
    await fail(deps, message, 'LlmProtocolError', `turns 0..${message.turn - 1} are not all stored`);
    return;
  }

  let strikes = Number((await store.cacheGet(overloadKey(message))) ?? '0');
  const modelIndexOf = (n: number) => Math.min(Math.floor(n / OVERLOADED_PER_MODEL), meta.models.length - 1);
  let model = meta.models[modelIndexOf(strikes)];
  if (!model) {
    await fail(deps, message, 'LlmProtocolError', 'no model configured for this alias');
    return;
  }
  // A model without a price is never called: its cost could not be reserved or charged.
  if (deps.pricing.isPriced && !deps.pricing.isPriced(model)) {
    await fail(deps, message, 'UnpricedModel', unpricedMessage([model]));
    return;
  }
  // What is sent: no empty turns, older context cleared as far as this conversation needed before.
  const messages = sendableMessages(history);
  let trimLevel = Math.min(
    Number((await store.cacheGet(trimKey(message.conversationId))) ?? '0'),
    MAX_TRIM_LEVEL,
  );
  // Thinking counts within max_tokens: the answer keeps its own budget on top of the thinking's.
  const thinking = meta.thinkingBudgetTokens;
  let request: LlmRequest = {
    model,
    system: meta.system,
    tools: meta.tools,
    messages: trimmed(messages, trimLevel),
    maxTokens: maxTokensFor(meta.maxTokens, history) + (thinking ?? 0),
    ...(thinking ? { thinking: { budgetTokens: thinking } } : {}),
  };

  // Pacing: hold the message, without calling or reserving, while the model's window is used up;
  // a wait longer than FALLBACK_AFTER_WAIT_SECONDS moves to the next model of the list, if any.
  const pacer = pacerOf(deps);
  let admitted = await pacer.admit(store, model, deps.clock.now());
  while ('waitMs' in admitted && admitted.waitMs > FALLBACK_AFTER_WAIT_SECONDS * 1000) {
    const next = meta.models[modelIndexOf(strikes) + 1];
    if (!next || (deps.pricing.isPriced && !deps.pricing.isPriced(next))) break;
    strikes = (modelIndexOf(strikes) + 1) * OVERLOADED_PER_MODEL;
    await store.cachePut(overloadKey(message), String(strikes), 3600);
    log.warn('model rate window used up past the wait allowed: falling back', {
      runId: message.runId,
      turn: message.turn,
      from: model,
      to: next,
    });
    model = next;
    request = { ...request, model };
    admitted = await pacer.admit(store, model, deps.clock.now());
  }
  if ('waitMs' in admitted) {
    const delay = Math.min(Math.max(Math.ceil(admitted.waitMs / 1000), 1), MAX_DELAY_SECONDS);
    log.info('model rate window used up: holding the message without calling', {
      runId: message.runId,
      turn: message.turn,
      model,
      delay,
    });
    await deps.queue.changeVisibility(delivery.receiptHandle, delay);
    throw new RetryLater('paced', delay);
  }
  const { seq } = admitted;

  // Budget: reserve the worst case before spending anything.
  // Sized for the model this attempt calls: a failed attempt gives its reservation back (see
  // onCallError), so a fallback to a dearer model reserves anew at that model's prices.
  let inputTokens = await deps.llm.countTokens(request);
  // Near the model's window: clear older context before the call rather than after a refusal.
  const window = contextWindowOf(model);
  for (let next = nextTrimLevel(messages, trimLevel); inputTokens + request.maxTokens > window && next; ) {
    trimLevel = next;
    request = { ...request, messages: trimmed(messages, trimLevel) };
    inputTokens = await deps.llm.countTokens(request);
    log.warn('prompt near the context window: clearing older tool results before the call', {
      runId: message.runId,
      turn: message.turn,
      trimLevel,
      inputTokens,
      window,
    });
    await store.cachePut(trimKey(message.conversationId), String(trimLevel), TRIM_MEMORY_SECONDS);
    next = nextTrimLevel(messages, trimLevel);
  }
  const worstCase = deps.pricing.worstCaseUsd(model, inputTokens, request.maxTokens);
  /** Fails the turn for a reservation `account` refused, saying how much of it is left. */
  const refuseOverBudget = async (account: string, limitUsd: number, label: string) => {
    const budget = await store.getBudget(account);
    const left = budget ? budget.limitUsd - budget.spentUsd - budget.reservedUsd : limitUsd;
    await fail(
      deps,
      message,
      'BudgetExceeded',
      `the next ${message.stage} call could cost up to $${worstCase.toFixed(4)}; $${Math.max(left, 0).toFixed(4)} of ${label} is left`,
    );
  };
  if (!(await store.reserveBudget(message.runId, reservationId(message), worstCase, meta.budgetUsd))) {
    await refuseOverBudget(message.runId, meta.budgetUsd, `the run's $${meta.budgetUsd.toFixed(2)} budget`);
    return;
  }
  // The repo's monthly cap (or an ask's daily one), if any. Refused → release the run's reservation too.
  const cap = capOf(meta);
  const monthly = cap?.account;
  if (cap && !(await store.reserveBudget(cap.account, reservationId(message), worstCase, cap.limitUsd))) {
    await giveBack(deps, message, undefined); // only the run's reservation was made
    await refuseOverBudget(cap.account, cap.limitUsd, cap.label);
    return;
  }

  const started = deps.clock.now();
  let response: Awaited<ReturnType<Llm['createMessage']>>;
  try {
    for (;;) {
      try {
        response = await deps.llm.createMessage(request);
        break;
      } catch (error) {
        // Too long for the model's window: clear older context and call again, a bounded number of
        // times; the reservation made for the longer request covers the shorter one.
        const next =
          error instanceof LlmError && error.kind === 'prompt_too_long'
            ? nextTrimLevel(messages, trimLevel)
            : undefined;
        if (next === undefined) throw error;
        trimLevel = next;
        log.warn('prompt too long: clearing older tool results and calling again', {
          runId: message.runId,
          turn: message.turn,
          trimLevel,
        });
        await store.cachePut(trimKey(message.conversationId), String(trimLevel), TRIM_MEMORY_SECONDS);
        request = { ...request, messages: trimmed(messages, trimLevel) };
      }
    }
  } catch (error) {
    if (error instanceof LlmError && error.kind === 'rate_limited') {
      await pacer.afterCall(deps, model, seq, deps.clock.now(), {
        ...(error.rateLimit ? { rateLimit: error.rateLimit } : {}),
        retryAfterSeconds: rateLimitDelaySeconds(error),
      });
    }
    const canFallBack = meta.models[modelIndexOf(strikes) + 1] !== undefined;
    await onCallError(deps, message, delivery, error, { strikes, canFallBack }, monthly);
    return;
  }
  const latencyMs = deps.clock.now() - started;
  if (response.rateLimit) {
    await pacer.afterCall(deps, model, seq, deps.clock.now(), { rateLimit: response.rateLimit });
  }
  const costUsd = deps.pricing.costUsd(response.model, response.usage);
  const at = new Date(deps.clock.now()).toISOString();

  const stored = await store.putTurn({
    conversationId: message.conversationId,
    turn: message.turn,
    runId: message.runId,
    stage: message.stage,
    role: 'assistant',
    content: response.content,
    model: response.model,
    stopReason: response.stopReason,
    usage: { ...response.usage },
    costUsd,
    createdAt: at,
  });
  // A concurrent delivery may have stored its answer first: that one is the record.
  const turn = stored.first ? undefined : stored.existing;
  const usage = response.usage;
  if (stored.first) {
    await store.recordLlmCall({
      runId: message.runId,
      ...(meta.account ? { account: meta.account } : {}),
      stage: message.stage,
      conversationId: message.conversationId,
      turn: message.turn,
      model: response.model,
      ...(response.provider ? { provider: response.provider } : {}),
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cacheReadTokens: usage.cacheReadTokens,
      cacheWriteTokens: usage.cacheWrite5mTokens + usage.cacheWrite1hTokens,
      cacheWrite5mTokens: usage.cacheWrite5mTokens,
      cacheWrite1hTokens: usage.cacheWrite1hTokens,
      costUsd,
      latencyMs,
      at,
    });
    await settleTurn(deps, message, costUsd, monthly);
    await store.appendEvent(message.runId, {
      type: 'llm.call',
      actor: 'llm-worker',
      data: {
        stage: message.stage,
        conversationId: message.conversationId,
        turn: message.turn,
        model: response.model,
        ...(response.provider ? { provider: response.provider } : {}),
        promptSha256: createHash('sha256').update(canonicalJson(request)).digest('hex'),
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        cacheReadTokens: usage.cacheReadTokens,
        cacheWriteTokens: usage.cacheWrite5mTokens + usage.cacheWrite1hTokens,
        costUsd,
        latencyMs,
        stopReason: response.stopReason,
      },
    });
  }
  await answer(
    deps,
    message,
    turn
      ? resultOf(turn)
      : {
          conversationId: message.conversationId,
          turn: message.turn,
          stopReason: response.stopReason,
          toolNames: toolNamesOf(response.content),
          model: response.model,
        },
  );
}

async function onCallError(
  deps: LlmWorkerPorts,
  message: LlmMessage,
  delivery: Delivery,
  error: unknown,
  fallback: { strikes: number; canFallBack: boolean },
  monthlyAccount?: string,
): Promise<void> {
  // No answer, so nothing to charge (a failed request is not billed): the attempt's reservation is
  // given back before anything else, whatever comes next (a retry reserves again).
  await giveBack(deps, message, monthlyAccount);
  if (!(error instanceof LlmError)) throw error;
  const ids = { runId: message.runId, stage: message.stage, turn: message.turn, kind: error.kind };
  // Overload, throttling and an unavailable provider are strikes against the model: after
  // OVERLOADED_PER_MODEL of them (or one throttle asking to wait too long) the next attempt
  // moves down the alias's list, which may be another provider.
  const strike = async (count = 1): Promise<boolean> => {
    const before = Math.floor(fallback.strikes / OVERLOADED_PER_MODEL);
    const strikes = fallback.strikes + count;
    await deps.store.cachePut(overloadKey(message), String(strikes), 3600);
    return fallback.canFallBack && Math.floor(strikes / OVERLOADED_PER_MODEL) > before;
  };
  const delayBy = async (reason: string, delay: number, text: string) => {
    deps.log.warn(text, { ...ids, delay });
    await deps.queue.changeVisibility(delivery.receiptHandle, delay);
    throw new RetryLater(reason, delay);
  };
  switch (error.kind) {
    case 'rate_limited': {
      const delay = rateLimitDelaySeconds(error);
      const tooLong = delay > FALLBACK_AFTER_WAIT_SECONDS;
      if (await strike(tooLong ? OVERLOADED_PER_MODEL : 1))
        return delayBy(
          'rate limited',
          FALLBACK_DELAY_SECONDS,
          'model rate limited past its wait: falling back',
        );
      return delayBy('rate limited', delay, 'model rate limited: delaying the message');
    }
    case 'overloaded': {
      const fellBack = await strike();
      const delay = fellBack ? FALLBACK_DELAY_SECONDS : backoffSeconds(delivery.receiveCount);
      return delayBy(
        'overloaded',
        delay,
        'model overloaded: delaying, then falling back along the alias list',
      );
    }
    case 'server':
    case 'network': {
      const fellBack = await strike();
      const delay = fellBack ? FALLBACK_DELAY_SECONDS : backoffSeconds(delivery.receiveCount);
      return delayBy(error.kind, delay, 'model call failed transiently: delaying the message');
    }
    case 'prompt_too_long':
      await fail(
        deps,
        message,
        'LlmPermanentError',
        `${error.message} (still too long with older tool results cleared)`,
      );
      return;
    case 'spend_limit':
    case 'permanent': {
      const errorName = error.kind === 'spend_limit' ? 'LlmSpendLimit' : 'LlmPermanentError';
      await fail(deps, message, errorName, error.message);
      return;
    }
  }
}

/**
 * A redelivery after a crash between storing the turn and settling: the ledger entry and the
 * settlements are idempotent per (conversation, turn), so they are simply done again from the
 * stored turn. Nothing is charged twice; nothing stays reserved.
 */
async function finishAccounting(
  deps: LlmWorkerPorts,
  message: LlmMessage,
  turn: ConversationTurn,
  meta: ConversationMeta | undefined,
): Promise<void> {
  const costUsd = turn.costUsd ?? 0;
  const usage = turn.usage ?? {};
  const n = (key: string) => Math.max(0, Math.round(usage[key] ?? 0));
  const provider = providerPrefixOf(turn.model ?? '');
  await deps.store.recordLlmCall({
    runId: message.runId,
    ...(meta?.account ? { account: meta.account } : {}),
    stage: message.stage,
    conversationId: message.conversationId,
    turn: message.turn,
    model: turn.model ?? 'unknown',
    ...(provider ? { provider } : {}),
    inputTokens: n('inputTokens'),
    outputTokens: n('outputTokens'),
    cacheReadTokens: n('cacheReadTokens'),
    cacheWriteTokens: n('cacheWrite5mTokens') + n('cacheWrite1hTokens'),
    cacheWrite5mTokens: n('cacheWrite5mTokens'),
    cacheWrite1hTokens: n('cacheWrite1hTokens'),
    costUsd,
    latencyMs: 0,
    at: turn.createdAt,
  });
  const monthly = monthlyAccountOf(meta);
  if (turn.settled) {
    await forgetSettlements(deps, message, monthly); // in case a crash came between flag and forget
    return;
  }
  await settleTurn(deps, message, costUsd, monthly);
}

async function answer(deps: LlmWorkerPorts, message: LlmMessage, result: TurnResult): Promise<void> {
  const accepted = await deps.workflow.sendTaskSuccess(message.taskToken, result);
  if (!accepted) {
    deps.log.warn('task token no longer accepted (expired, used or unknown): message acknowledged', {
      runId: message.runId,
      turn: message.turn,
    });
  }
}

async function fail(deps: LlmWorkerPorts, message: LlmMessage, error: string, cause: string): Promise<void> {
  deps.log.warn('failing the LLM task', { runId: message.runId, stage: message.stage, error });
  const accepted = await deps.workflow.sendTaskFailure(message.taskToken, error, cause);
  if (!accepted)
    deps.log.warn('task token no longer accepted: message acknowledged', { runId: message.runId });
}
