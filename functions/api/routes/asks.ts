import { emptyLedger } from '../../shared/domain/run';
import { ASK_TIMEOUT_SECONDS } from '../../shared/domain/turns';
import type { Ask } from '../../shared/ports';
import {
  ApiError,
  type ApiReply,
  type ApiRequest,
  parseInput,
  type RouteContext,
  reply,
  requireRepo,
  requireScope,
} from '../context';
import { AskIdParams, type AskView, CreateAskBody } from '../schemas';
import { jsonBody } from './runs';

/**
 * The copilot (issue 21): `POST /v1/asks` stores the question and starts the ask state machine
 * (statemachines/ask.ts), answering 202 at once; `GET /v1/asks/{id}` reads the answer. Asking
 * needs only `runs:read`: the copilot reads, and its proposals run only when a person sends them
 * to their own endpoint with their own key.
 */

const RETRY_AFTER_SECONDS = '2';

/**
 * An ask still PENDING after its execution's timeout died without writing its end (on AWS nothing
 * sweeps ask executions): it reads as FAILED, so a poller stops.
 */
function settled(ask: Ask, nowMs: number): Ask {
  const deadline = Date.parse(ask.createdAt) + (ASK_TIMEOUT_SECONDS + 60) * 1000;
  if (ask.status !== 'PENDING' || nowMs <= deadline) return ask;
  return {
    ...ask,
    status: 'FAILED',
    error: { class: 'AskTimedOut', cause: `no answer within ${ASK_TIMEOUT_SECONDS} s` },
  };
}

export function askView(stored: Ask, nowMs: number): AskView {
  const ask = settled(stored, nowMs);
  return {
    id: ask.askId,
    status: ask.status,
    question: ask.question,
    ...(ask.repo ? { repo: ask.repo } : {}),
    answer: ask.answer ?? null,
    proposals: ask.proposals,
    ...(ask.error ? { error: { code: ask.error.class, message: ask.error.cause } } : {}),
    cost_usd: ask.ledger.costUsd,
    llm_calls: ask.ledger.llmCalls,
    created_at: ask.createdAt,
    updated_at: ask.updatedAt,
  };
}

export async function createAsk(ctx: RouteContext, request: ApiRequest): Promise<ApiReply> {
  const principal = requireScope(request, 'runs:read');
  const body = parseInput(CreateAskBody, jsonBody(ctx, request), 'body');
  if (body.repo !== undefined) requireRepo(principal, body.repo);
  if (!ctx.asks) throw new ApiError(503, 'ServiceUnavailable', 'the copilot is not deployed here');
  const askId = ctx.ids.ulid();
  const now = ctx.iso();
  const ask: Ask = {
    askId,
    question: body.question,
    ...(body.repo ? { repo: body.repo } : {}),
    status: 'PENDING',
    keyHash: principal.keyHash,
    repoPatterns: [...principal.repoPatterns],
    proposals: [],
    ledger: emptyLedger(),
    createdAt: now,
    updatedAt: now,
  };
  await ctx.store.putAsk(ask);
  await ctx.asks.startRun(askId, { askId });
  ctx.log.info('copilot ask started', { askId, key: principal.name });
  return reply(
    202,
    { data: askView(ask, Date.parse(now)) },
    { location: `/v1/asks/${askId}`, 'retry-after': RETRY_AFTER_SECONDS },
  );
}

/** Only the key that asked reads the ask: another key gets the same 404 as a missing one. */
export async function getAsk(ctx: RouteContext, request: ApiRequest): Promise<ApiReply> {
  const principal = requireScope(request, 'runs:read');
  const { id } = parseInput(AskIdParams, request.params, 'path');
  const ask = await ctx.store.getAsk(id);
  if (!ask || ask.keyHash !== principal.keyHash) throw new ApiError(404, 'NotFound', `ask ${id} not found`);
  const view = askView(ask, Date.parse(ctx.iso()));
  return reply(200, { data: view }, view.status === 'PENDING' ? { 'retry-after': RETRY_AFTER_SECONDS } : {});
}
