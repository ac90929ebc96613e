import { IllegalTransitionError } from '../errors';
import { isTerminal, RUN_STATUSES, type RunStatus } from './run';

/**
 * The run status transition table (SPEC §2). Every status write goes through `assertTransition`,
 * so an illegal transition is rejected with a typed error and never written.
 * Any non-terminal status may also move to FAILED, CANCELLED or SUPERSEDED; terminal statuses never move.
 */
const FORWARD: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  // A review run goes straight to REVIEWING and ends SUCCEEDED once its review is posted; a
  // follow-up skips the plan and goes straight to IMPLEMENTING; a rescue first reads the PR's CI
  // (VERIFYING), and a rescue refused at admit (a fork, a sender who may not push) is BLOCKED.
  QUEUED: ['PLANNING', 'REVIEWING', 'IMPLEMENTING', 'VERIFYING', 'BLOCKED'],
  // STOPPED (from PLANNING, IMPLEMENTING, REVIEWING): a stage ran out of turns, the budget was
  // spent, or the checks kept failing; the work so far is kept on a draft PR.
  PLANNING: ['AWAITING_CLARIFICATION', 'IMPLEMENTING', 'BLOCKED', 'STOPPED'],
  AWAITING_CLARIFICATION: ['PLANNING', 'TIMED_OUT'],
  // IMPLEMENTING -> IMPLEMENTING: a boundary violation sends the change back for another attempt.
  // The coder or the reviewer may also report the work BLOCKED (outside the contract, impossible).
  IMPLEMENTING: ['VERIFYING', 'IMPLEMENTING', 'BLOCKED', 'STOPPED'],
  // A rescue ends from VERIFYING: SUCCEEDED once CI passes on the PR, STOPPED when people keep
  // pushing over its commits.
  VERIFYING: ['IMPLEMENTING', 'REVIEWING', 'AWAITING_APPROVAL', 'SUCCEEDED', 'STOPPED'],
  REVIEWING: ['IMPLEMENTING', 'AWAITING_APPROVAL', 'BLOCKED', 'STOPPED', 'SUCCEEDED'],
  AWAITING_APPROVAL: ['MERGING', 'REJECTED', 'EXPIRED'],
  MERGING: ['SUCCEEDED'],
  SUCCEEDED: [],
  FAILED: [],
  BLOCKED: [],
  REJECTED: [],
  EXPIRED: [],
  TIMED_OUT: [],
  CANCELLED: [],
  STOPPED: [],
  SUPERSEDED: [],
};

/** SUPERSEDED: a follow-up run took over the run's pull request (functions/shared/supersede-run.ts). */
const ABORTS: readonly RunStatus[] = ['FAILED', 'CANCELLED', 'SUPERSEDED'];

/** Allowed next statuses of each status, including the FAILED/CANCELLED escape of non-terminal ones. */
export const TRANSITIONS: Readonly<Record<RunStatus, ReadonlySet<RunStatus>>> = (() => {
  const table = {} as Record<RunStatus, ReadonlySet<RunStatus>>;
  for (const status of RUN_STATUSES) {
    table[status] = new Set<RunStatus>(isTerminal(status) ? [] : [...FORWARD[status], ...ABORTS]);
  }
  return table;
})();

const isRunStatus = (value: unknown): value is RunStatus =>
  typeof value === 'string' && (RUN_STATUSES as readonly string[]).includes(value);

/** True when `from -> to` is in the table. Unknown statuses are never allowed. */
export function canTransition(from: string, to: string): boolean {
  return isRunStatus(from) && isRunStatus(to) && TRANSITIONS[from].has(to);
}

/** Throws IllegalTransitionError unless `from -> to` is in the table. */
export function assertTransition(from: string, to: string): asserts to is RunStatus {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

/** The statuses `from` may move to, in table order. */
export function nextStatuses(from: RunStatus): RunStatus[] {
  return [...(TRANSITIONS[from] ?? [])];
}
