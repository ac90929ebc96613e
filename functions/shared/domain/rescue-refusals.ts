/**
 * Error classes of a rescue refused at admit (functions/stages/rescue.ts): the run ends BLOCKED,
 * not FAILED, since the repository's setup or a person's permission decided, not a fault
 * (statemachines/pipeline.ts, state `RecordFailure`).
 */
export const RESCUE_REFUSALS = ['ForkPullRequest', 'SenderCannotPush', 'ProtectedBranch'] as const;
