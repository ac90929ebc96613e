import * as z from 'zod';
import { withEventMiddleware } from '../shared/middleware';
import { admit } from './admit';
import { requestApproval } from './approval';
import { checkChangeBoundary } from './boundary';
import { decideAfterChecks, waitForChecks } from './checks';
import { readCiSummary } from './ci-summary';
import { awaitClarification } from './clarify';
import type { StagePorts } from './deps';
import { executionEnded } from './execution-ended';
import { finalize } from './finalize';
import { implementRan, implementTools, startImplement } from './implement';
import { keepWork } from './keep-work';
import { merge } from './merge';
import { planTools, startPlan } from './plan';
import { publish } from './publish';
import { pushRescue } from './rescue';
import { revert } from './revert';
import { reviewTools, startReview } from './review';
import { reviewPrTools, startReviewPr } from './review-pr';
import { postPartialReview } from './review-pr-partial';

export type { StagePorts } from './deps';

/**
 * The stage runner: one Lambda, dispatched by `stage` (state `PlanTools` → `plan.tools` →
 * functions/stages/plan.ts; `Approval` → `approval` → approval.ts). Results are small pointers;
 * the run item holds the state.
 */
export const StageEvent = z.object({
  stage: z.string().min(1).max(40),
  runId: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/),
  conversationId: z.string().min(1).max(80).optional(),
  turn: z.number().int().min(1).max(200).optional(),
  resume: z.unknown().optional(),
  status: z.string().max(40).optional(),
  error: z.unknown().optional(),
  /** clarify, checks, approval: the wait's task token, stored in its pending-wait item only. */
  taskToken: z.string().min(1).max(2048).optional(),
});
export type StageEvent = z.infer<typeof StageEvent>;

const need = <T>(value: T | undefined, name: string): T => {
  if (value === undefined) throw new Error(`stage event is missing ${name}`);
  return value;
};

type StageFn = (ports: StagePorts, event: StageEvent) => Promise<unknown>;

/** The state machine's `$.error` (null when there is none). */
type ExecutionError = { Error?: string; Cause?: string } | null;
const errorOf = (event: StageEvent) => (event.error ?? null) as ExecutionError;

/** A Tools or Ran step of an agent loop: it works on one turn of a conversation. */
const turnStep =
  (
    step: (ports: StagePorts, runId: string, conversationId: string, turn: number) => Promise<unknown>,
  ): StageFn =>
  (d, e) =>
    step(d, e.runId, need(e.conversationId, 'conversationId'), need(e.turn, 'turn'));

export const STAGES: Record<string, StageFn> = {
  admit: (d, e) => admit(d, e.runId),
  'plan.start': (d, e) => startPlan(d, e.runId, e.resume),
  'plan.tools': turnStep(planTools),
  'implement.start': (d, e) => startImplement(d, e.runId),
  'implement.tools': turnStep(implementTools),
  'implement.ran': turnStep(implementRan),
  boundary: (d, e) => checkChangeBoundary(d, e.runId),
  publish: (d, e) => publish(d, e.runId),
  // A run that stops before it finishes keeps its work on a draft PR (then FinalizeStopped).
  'keep-work': (d, e) => keepWork(d, e.runId, errorOf(e)),
  'checks.decide': (d, e) => decideAfterChecks(d, e.runId),
  // Long CI logs: what the `fast` alias said of them goes into the fix's feedback (ci-summary.ts).
  'ci-summary.read': turnStep(readCiSummary),
  'review.start': (d, e) => startReview(d, e.runId),
  'review.tools': turnStep(reviewTools),
  // A review run: the reviewer on someone's pull request (states ReviewPr*).
  'review-pr.start': (d, e) => startReviewPr(d, e.runId),
  'review-pr.tools': turnStep(reviewPrTools),
  // A rescue run (states RescuePr*): the coder fixes someone's PR, pushed on top of its head.
  'rescue-pr.start': (d, e) => startImplement(d, e.runId),
  'rescue-pr.tools': turnStep(implementTools),
  'rescue-pr.ran': turnStep(implementRan),
  'rescue-pr.push': (d, e) => pushRescue(d, e.runId),
  'review-pr.partial': (d, e) => postPartialReview(d, e.runId, errorOf(e)),
  // The human and CI waits: callback tasks whose token is stored in the pending-wait item.
  clarify: (d, e) => awaitClarification(d, e.runId, need(e.taskToken, 'taskToken')),
  checks: (d, e) => waitForChecks(d, e.runId, need(e.taskToken, 'taskToken')),
  approval: (d, e) => requestApproval(d, e.runId, need(e.taskToken, 'taskToken')),
  merge: (d, e) => merge(d, e.runId),
  revert: (d, e) => revert(d, e.runId),
  // Not a state: the execution ended without reaching finalize (EventBridge, or the local engine).
  'execution-ended': (d, e) => executionEnded(d, e.runId, e.status, errorOf(e)),
  finalize: (d, e) => finalize(d, e.runId, need(e.status, 'status'), errorOf(e)),
};

/** The Lambda handler: the dispatcher inside the shared event chain. */
export function createStageHandler(ports: StagePorts) {
  return withEventMiddleware(async (raw: unknown): Promise<unknown> => {
    const event = StageEvent.parse(raw);
    const run = STAGES[event.stage];
    if (!run) throw new Error(`unknown stage ${event.stage}`);
    const started = ports.clock.now();
    try {
      const result = await run(ports, event);
      ports.log.info('stage done', {
        stage: event.stage,
        runId: event.runId,
        ms: ports.clock.now() - started,
      });
      return result ?? {};
    } catch (error) {
      ports.log.warn('stage failed', {
        stage: event.stage,
        runId: event.runId,
        error: error instanceof Error ? error.name : 'unknown',
      });
      throw error;
    }
  });
}
