import { isTerminal } from '../shared/domain/run';
import { contextWindowOf, unpricedMessage } from '../shared/domain/models';
import { LlmError } from '../shared/errors';
import { giveBack, releaseTurnReservation, turnLeaseKey } from '../shared/llm-lease';
import type { ConversationMeta, ConversationTurn, LlmRequest } from '../shared/ports';
import { MAX_TRIM_LEVEL, nextTrimLevel, trimKey, trimmed } from './context-trim';
import { sendableMessages } from './history';
import { maxTokensFor } from './output-budget';
import { ModelPacer } from './pacing';
import { answer, fail, resultOf } from './task-answer';
import { finishAccounting, recordAnswer, reserveTurn } from './turn-ledger';
import {
  type Delivery,
  type LlmMessage,
  type LlmResponse,
  type LlmWorkerPorts,
  RetryLater,
} from './turn-types';

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

/**
 * How long one message owns a turn. SQS may deliver copies of a message concurrently: the lease
 * makes sure only one of them calls the model; the others come back later and find the answer.
 * It outlives the queue's visibility timeout, and a crashed owner's lease simply expires.
 */
export const TURN_LEASE_SECONDS = 160;
const LEASE_BUSY_DELAY_SECONDS = 10;

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

/** The model call of a leased turn: model, window, budget, call, record, settle, answer. */
async function callAndRecord(
  deps: LlmWorkerPorts,
  message: LlmMessage,
  delivery: Delivery,
  meta: ConversationMeta | undefined,
  turns: ConversationTurn[],
): Promise<void> {
  if (!meta || meta.runId !== message.runId) {
    await fail(deps, message, 'LlmProtocolError', 'conversation not found for this run');
    return;
  }
  const history = turns.filter((t) => t.turn < message.turn).sort((a, b) => a.turn - b.turn);
  if (history.length !== message.turn || history.some((t, i) => t.turn !== i)) {
    await fail(deps, message, 'LlmProtocolError', `turns 0..${message.turn - 1} are not all stored`);
    return;
  }
  const choice = await chooseModel(deps, message, delivery, meta);
  if (!choice) return;
  const { model, seq, strikes } = choice;

  // What is sent: no empty turns, older context cleared as far as this conversation needed before.
  const messages = sendableMessages(history);
  const trimLevel = Math.min(
    Number((await deps.store.cacheGet(trimKey(message.conversationId))) ?? '0'),
    MAX_TRIM_LEVEL,
  );
  // Thinking counts within max_tokens: the answer keeps its own budget on top of the thinking's.
  const thinking = meta.thinkingBudgetTokens;
  const call: TrimmableCall = {
    messages,
    trimLevel,
    request: {
      model,
      system: meta.system,
      tools: meta.tools,
      messages: trimmed(messages, trimLevel),
      maxTokens: maxTokensFor(meta.maxTokens, history) + (thinking ?? 0),
      ...(thinking ? { thinking: { budgetTokens: thinking } } : {}),
    },
  };

  // Budget: reserve the worst case before spending anything, sized for the model this attempt
  // calls (a failed attempt gives its reservation back, so a fallback reserves anew at its prices).
  const inputTokens = await fitWindow(deps, message, call);
  const worstCase = deps.pricing.worstCaseUsd(model, inputTokens, call.request.maxTokens);
  const reserved = await reserveTurn(deps, message, meta, worstCase);
  if (!reserved) return;
  const { monthly } = reserved;

  const started = deps.clock.now();
  let response: LlmResponse;
  try {
    response = await createTrimming(deps, message, call);
  } catch (error) {
    if (error instanceof LlmError && error.kind === 'rate_limited') {
      await pacerOf(deps).afterCall(deps, model, seq, deps.clock.now(), {
        ...(error.rateLimit ? { rateLimit: error.rateLimit } : {}),
        retryAfterSeconds: rateLimitDelaySeconds(error),
      });
    }
    const canFallBack = meta.models[modelIndexOf(meta, strikes) + 1] !== undefined;
    await onCallError(deps, message, delivery, error, { strikes, canFallBack }, monthly);
    return;
  }
  const latencyMs = deps.clock.now() - started;
  if (response.rateLimit) {
    await pacerOf(deps).afterCall(deps, model, seq, deps.clock.now(), { rateLimit: response.rateLimit });
  }
  await recordAnswer(deps, message, meta, call.request, response, { latencyMs, monthly });
}

/** The request of a turn with what it was trimmed from, so it can be trimmed further. */
interface TrimmableCall {
  messages: LlmRequest['messages'];
  trimLevel: number;
  request: LlmRequest;
}

/** The model a failure count points at: OVERLOADED_PER_MODEL strikes move one down the alias's list. */
const modelIndexOf = (meta: ConversationMeta, strikes: number): number =>
  Math.min(Math.floor(strikes / OVERLOADED_PER_MODEL), meta.models.length - 1);

/**
 * The model this attempt calls, and its pacing slot. Pacing holds the message, without calling or
 * reserving, while the model's window is used up; a wait longer than FALLBACK_AFTER_WAIT_SECONDS
 * moves to the next model of the list, if any. Undefined when the turn was failed.
 */
async function chooseModel(
  deps: LlmWorkerPorts,
  message: LlmMessage,
  delivery: Delivery,
  meta: ConversationMeta,
): Promise<{ model: string; seq: number; strikes: number } | undefined> {
  const { store, log } = deps;
  let strikes = Number((await store.cacheGet(overloadKey(message))) ?? '0');
  let model = meta.models[modelIndexOf(meta, strikes)];
  if (!model) {
    await fail(deps, message, 'LlmProtocolError', 'no model configured for this alias');
    return undefined;
  }
  // A model without a price is never called: its cost could not be reserved or charged.
  if (deps.pricing.isPriced && !deps.pricing.isPriced(model)) {
    await fail(deps, message, 'UnpricedModel', unpricedMessage([model]));
    return undefined;
  }
  const pacer = pacerOf(deps);
  let admitted = await pacer.admit(store, model, deps.clock.now());
  while ('waitMs' in admitted && admitted.waitMs > FALLBACK_AFTER_WAIT_SECONDS * 1000) {
    const next = meta.models[modelIndexOf(meta, strikes) + 1];
    if (!next || (deps.pricing.isPriced && !deps.pricing.isPriced(next))) break;
    strikes = (modelIndexOf(meta, strikes) + 1) * OVERLOADED_PER_MODEL;
    await store.cachePut(overloadKey(message), String(strikes), 3600);
    log.warn('model rate window used up past the wait allowed: falling back', {
      runId: message.runId,
      turn: message.turn,
      from: model,
      to: next,
    });
    model = next;
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
  return { model, seq: admitted.seq, strikes };
}

/** Clears older context while the request is near the model's window, before the call rather than after a refusal. */
async function fitWindow(deps: LlmWorkerPorts, message: LlmMessage, call: TrimmableCall): Promise<number> {
  let inputTokens = await deps.llm.countTokens(call.request);
  const window = contextWindowOf(call.request.model);
  for (
    let next = nextTrimLevel(call.messages, call.trimLevel);
    inputTokens + call.request.maxTokens > window && next;
    next = nextTrimLevel(call.messages, call.trimLevel)
  ) {
    await trimTo(deps, message, call, next);
    inputTokens = await deps.llm.countTokens(call.request);
    deps.log.warn('prompt near the context window: clearing older tool results before the call', {
      runId: message.runId,
      turn: message.turn,
      trimLevel: next,
      inputTokens,
      window,
    });
  }
  return inputTokens;
}

/** Trims the call to `level` and remembers it for the conversation's later turns. */
async function trimTo(deps: LlmWorkerPorts, message: LlmMessage, call: TrimmableCall, level: number) {
  call.trimLevel = level;
  call.request = { ...call.request, messages: trimmed(call.messages, level) };
  await deps.store.cachePut(trimKey(message.conversationId), String(level), TRIM_MEMORY_SECONDS);
}

/**
 * The model call. Too long for the model's window: older context is cleared and the call made again,
 * a bounded number of times; the reservation made for the longer request covers the shorter one.
 */
async function createTrimming(
  deps: LlmWorkerPorts,
  message: LlmMessage,
  call: TrimmableCall,
): Promise<LlmResponse> {
  for (;;) {
    try {
      return await deps.llm.createMessage(call.request);
    } catch (error) {
      const next =
        error instanceof LlmError && error.kind === 'prompt_too_long'
          ? nextTrimLevel(call.messages, call.trimLevel)
          : undefined;
      if (next === undefined) throw error;
      deps.log.warn('prompt too long: clearing older tool results and calling again', {
        runId: message.runId,
        turn: message.turn,
        trimLevel: next,
      });
      await trimTo(deps, message, call, next);
    }
  }
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
