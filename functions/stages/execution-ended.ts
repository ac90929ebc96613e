import { failRun } from '../shared/end-run';
import type { StagePorts } from './deps';

/**
 * execution-ended: an execution stopped without its run reaching finalize (it timed out as a whole,
 * was stopped by hand, or finalize itself failed; locally, the engine restarted under it). The run
 * ends FAILED through the same end-of-run path finalize uses; a run that already ended (every
 * normal path, a cancel) is left as it is. On AWS an EventBridge rule on the state machine's
 * status changes sends this (lib/constructs/execution-sweep.ts); the embedded stack's engine does.
 */
/** Step Functions' execution statuses, as error classes. */
const ENDED: Record<string, string> = {
  FAILED: 'ExecutionFailed',
  TIMED_OUT: 'ExecutionTimedOut',
  ABORTED: 'ExecutionAborted',
};

export async function executionEnded(
  deps: StagePorts,
  runId: string,
  status: string | undefined,
  error: { Error?: string; Cause?: string } | null,
): Promise<{ status: string }> {
  const ended = ENDED[status ?? ''] ?? 'ExecutionEnded';
  const run = await failRun(deps, runId, {
    class: error?.Error || ended,
    cause: error?.Cause || `the execution ended (${status ?? 'unknown'}) without a final status`,
  });
  return { status: run.status };
}
