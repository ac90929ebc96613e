import * as z from 'zod';
import { isTerminal, RunId } from '../shared/domain/run';
import { PROPOSAL_ACTIONS, type Proposal } from '../shared/store/asks';
import type { CopilotPorts } from './ports';

/**
 * Proposed actions: what the model may suggest, checked against the run it names. The request a
 * person's confirmation sends is built here from the action, so model text never picks a path,
 * a method or a body; and only endpoints that exist are proposed (SPEC §3).
 */
export const MAX_PROPOSALS = 5;

export const ProposalInput = z
  .object({
    action: z.enum(PROPOSAL_ACTIONS),
    target: RunId.describe('the run id the action is about'),
    reason: z.string().min(1).max(1000),
  })
  .strict();

const payloadOf = (action: Proposal['action'], runId: string): Proposal['payload'] => {
  switch (action) {
    case 'retry':
      return { method: 'POST', path: `/v1/runs/${runId}/retry`, body: {} };
    case 'cancel':
      return { method: 'POST', path: `/v1/runs/${runId}/cancel`, body: {} };
    // Approval links go to each approver by email; the run view lists the run's approvals.
    case 'open_run':
    case 'open_approval':
      return { method: 'GET', path: `/v1/runs/${runId}` };
  }
};

/** The proposals that fit their run's state, or the first reason one does not. */
export async function checkProposals(
  ports: CopilotPorts,
  canSee: (repo: string) => boolean,
  inputs: Array<z.infer<typeof ProposalInput>>,
): Promise<{ ok: true; proposals: Proposal[] } | { ok: false; error: string }> {
  const proposals: Proposal[] = [];
  for (const [i, input] of inputs.entries()) {
    const run = await ports.store.getRun(input.target);
    if (!run || !canSee(run.repo))
      return { ok: false, error: `proposals.${i}: run ${input.target} not found` };
    if (input.action === 'retry' && !isTerminal(run.status))
      return {
        ok: false,
        error: `proposals.${i}: run ${run.runId} is ${run.status}; only an ended run can be retried`,
      };
    if (input.action === 'cancel' && isTerminal(run.status))
      return { ok: false, error: `proposals.${i}: run ${run.runId} already ended (${run.status})` };
    if (input.action === 'open_approval' && run.status !== 'AWAITING_APPROVAL')
      return { ok: false, error: `proposals.${i}: run ${run.runId} awaits no approval` };
    proposals.push({
      action: input.action,
      target: run.runId,
      payload: payloadOf(input.action, run.runId),
      reason: input.reason,
    });
  }
  return { ok: true, proposals };
}
