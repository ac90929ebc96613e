import { type Contract, defaultContract, parseFactoryConfig } from '../shared/domain/contract';
import { LIMITS as CONTRACT_LIMITS } from '../shared/domain/factory-config';
import { FACTORY_CONFIG_PATHS } from '../shared/domain/path-rules';
import { resolveThinking } from '../shared/domain/thinking';
import { disallowedModels, resolveModels, unpricedMessage, unpricedModels } from '../shared/domain/models';
import { isTerminal, type RunKind, type RunStatus } from '../shared/domain/run';
import { AdmissionRefusedError } from './admission-refused';
import { followUpStart } from './follow-up';
import { rescueStart } from './rescue';
import { triggerLabelCacheKey } from '../shared/trigger-label';
import { updateStatusComment } from './comments';
import type { StagePorts } from './deps';
import type { RunContract } from '../shared/run-contract';
import { enterStage, mutateRun } from '../shared/run-state';
import { resumePointOf, seedFromBranch } from './resume';

export { AdmissionRefusedError };

/** The repo's contract from the DEFAULT branch (never a branch the factory or a PR wrote). */
export async function loadContract(
  deps: StagePorts,
  repo: { owner: string; repo: string },
  sha: string,
): Promise<Contract> {
  for (const path of FACTORY_CONFIG_PATHS) {
    const file = await deps.github.getFile(repo, path, sha);
    if (!file) continue;
    const parsed = parseFactoryConfig(file.content);
    if (!parsed.ok) {
      const problems = parsed.errors
        .slice(0, 10)
        .map((e) => `- ${e.line ? `line ${e.line}, column ${e.col}: ` : `${e.path}: `}${e.message}`)
        .join('\n');
      throw new AdmissionRefusedError('ConfigInvalid', `${path} is invalid:\n${problems}`);
    }
    return parsed.contract;
  }
  return defaultContract();
}

/**
 * Where each kind goes from admit: a review reviews, a follow-up implements, a rescue reads the
 * PR's CI first, a change plans.
 */
const STATUS_AFTER_ADMIT: Partial<Record<RunKind, RunStatus>> = {
  review: 'REVIEWING',
  'follow-up': 'IMPLEMENTING',
  rescue: 'VERIFYING',
};

/** A checks wait re-reads CI this often when no webhook resumed it (decision 0006). */
export const CHECKS_RECHECK_SECONDS = 300;

export function runContractOf(deps: StagePorts, contract: Contract): RunContract {
  const models = resolveModels(contract.models, deps.settings.models.aliases);
  const cap = deps.settings.maxWaitSeconds ?? {};
  const capped = (seconds: number, max?: number) => Math.max(1, Math.min(seconds, max ?? seconds));
  const checksSeconds = capped(contract.timeouts.checksMinutes * 60, cap.checksSeconds);
  return {
    policy: contract as unknown as Record<string, unknown>,
    models,
    budgetUsd: contract.budgetUsd,
    ...(contract.monthlyBudgetUsd ? { monthlyBudgetUsd: contract.monthlyBudgetUsd } : {}),
    maxFixAttempts: contract.maxFixAttempts,
    approvers: contract.approvers.length > 0 ? contract.approvers : deps.settings.defaultApprovers,
    requiredChecks: contract.requiredChecks,
    riskyPermissions: contract.riskyPermissions,
    environment: contract.environment,
    turns: contract.turns,
    ciLogSummaryChars: contract.ciLogSummaryChars,
    thinking: resolveThinking(
      contract.thinking,
      deps.settings.models.thinking.budgets,
      deps.settings.models.thinking.maxBudgetTokens,
    ),
    timeouts: {
      llmTurnSeconds: deps.settings.llmTurnSeconds,
      clarifySeconds: capped(contract.timeouts.clarifyDays * 86_400, cap.clarifySeconds),
      checksSeconds,
      // Shorter than the wait's own timeout, which each re-read restarts (Step Functions wants
      // HeartbeatSeconds below TimeoutSeconds).
      checksRecheckSeconds: Math.max(
        1,
        Math.min(capped(CHECKS_RECHECK_SECONDS, cap.checksRecheckSeconds), checksSeconds - 1),
      ),
      approvalSeconds: capped(contract.timeouts.approvalHours * 3600, cap.approvalSeconds),
    },
  };
}

/**
 * A retry's `budget_usd` in place of the repository's: any amount within the repository's cap, its
 * `monthly_budget_usd` when it sets one (else the largest `budget_usd` a config may set).
 */
export function withRetryBudget(contract: RunContract, budgetUsd: number | undefined): RunContract {
  if (budgetUsd === undefined) return contract;
  const cap = contract.monthlyBudgetUsd ?? CONTRACT_LIMITS.budgetUsd.max;
  if (budgetUsd > cap)
    throw new AdmissionRefusedError(
      'BudgetOverCap',
      `the retry asks for a $${budgetUsd.toFixed(2)} budget, over this repository's cap of $${cap.toFixed(2)} (monthly_budget_usd in .github/factory.yml)`,
    );
  return { ...contract, budgetUsd };
}

/**
 * admit: load the run, the issue and the contract; check the trigger, the per-repo concurrency
 * cap and the budget. A doomed run fails here, fast, with a clear comment on the issue.
 */
export async function admit(
  deps: StagePorts,
  runId: string,
): Promise<{ timeouts: RunContract['timeouts']; kind: RunKind }> {
  const run = await deps.store.getRun(runId);
  if (!run) throw new Error(`run ${runId} not found`);
  if (run.status === 'CANCELLED') throw new AdmissionRefusedError('Cancelled', 'the run was cancelled');
  if (isTerminal(run.status))
    throw new AdmissionRefusedError('AlreadyFinished', `the run is already ${run.status}`);
  const repo = deps.repoOf(run);
  try {
    const base = await deps.github.getDefaultBranch(repo);
    const contract = await loadContract(deps, repo, base.sha);
    const issue = run.issueNumber ? await deps.github.getIssue(repo, run.issueNumber) : undefined;
    // Tell the webhook which label starts runs here (it never reads factory.yml on its ack path).
    await deps.store.cachePut(triggerLabelCacheKey(run.repo), contract.triggerLabel, 7 * 86_400);
    const label = run.trigger.command?.startsWith('label:')
      ? run.trigger.command.slice('label:'.length)
      : undefined;
    if (run.trigger.source === 'label' && label !== undefined && label !== contract.triggerLabel) {
      throw new AdmissionRefusedError(
        'TriggerNotAllowed',
        `this repository starts runs with the label \`${contract.triggerLabel}\`, not \`${label}\``,
      );
    }
    const runContract = withRetryBudget(runContractOf(deps, contract), run.budgetUsd);
    const disallowed = disallowedModels(runContract.models, deps.settings.models);
    if (disallowed.length > 0) {
      throw new AdmissionRefusedError(
        'ModelNotAllowed',
        `${disallowed.join(', ')}: not a provider or endpoint this deployment allows (MODEL_CONFIG.allowedProviders, MODEL_CONFIG.endpoints)`,
      );
    }
    const { prices, defaultProvider } = deps.settings.models;
    const unpriced = unpricedModels(runContract.models, prices, defaultProvider);
    if (unpriced.length > 0) throw new AdmissionRefusedError('UnpricedModel', unpricedMessage(unpriced));
    const active = (await deps.store.listRunsByRepo(run.repo, { limit: 100 })).items.filter(
      (r) => r.runId !== runId && !isTerminal(r.status) && r.status !== 'QUEUED',
    );
    if (active.length >= deps.settings.maxActiveRunsPerRepo) {
      throw new AdmissionRefusedError(
        'ConcurrencyLimit',
        `${active.length} runs are already active in ${run.repo} (the limit is ${deps.settings.maxActiveRunsPerRepo}); try again when one finishes`,
      );
    }
    // A retry of a stopped run goes on from its branch: that run's base, the branch's change as
    // the pending change, the same branch and PR to publish to. The contract is still today's.
    const resume = await resumePointOf(deps, run);
    const seeded = resume ? await seedFromBranch(deps, run, resume) : undefined;
    // A follow-up builds on its PR's head as it is now, on the same branch and PR (follow-up.ts).
    const followUp = await followUpStart(deps, run);
    // A rescue works on someone's PR from its head, on its branch (rescue.ts).
    const rescue = await rescueStart(deps, run, base.name);
    const baseSha = followUp?.headSha ?? rescue?.headSha ?? resume?.baseSha ?? base.sha;
    const updated = await mutateRun(deps, runId, (r) => ({
      // The state machine takes each kind its own path from here (`KindRoute`).
      ...enterStage(r, 'admit', deps.now(), STATUS_AFTER_ADMIT[r.kind] ?? 'PLANNING'),
      baseSha,
      contract: runContract as unknown as Record<string, unknown>,
      ...(issue ? { issueTitle: issue.title.slice(0, 1000) } : {}),
      // Not its head or PR number: until this run pushes, they are the stopped run's, and a run
      // that ends without pushing must not take them back (run-cleanup.ts).
      ...(resume ? { resumedFrom: resume, branch: resume.branch } : {}),
      ...(followUp && r.followUp
        ? {
            branch: r.followUp.branch,
            prNumber: r.followUp.prNumber,
            prUrl: followUp.prUrl,
            headSha: followUp.headSha,
            followUp: { ...r.followUp, reviewComments: followUp.reviewComments },
          }
        : {}),
      ...(rescue
        ? {
            branch: rescue.branch,
            prNumber: rescue.prNumber,
            prUrl: rescue.prUrl,
            headSha: rescue.headSha,
            rescue: { pushes: [], reapplied: false },
          }
        : {}),
    }));
    await deps.store.appendEvent(runId, {
      type: 'run.admitted',
      actor: 'stage-runner',
      data: { baseSha, budgetUsd: runContract.budgetUsd, risky: runContract.riskyPermissions },
    });
    if (resume && seeded)
      await deps.store.appendEvent(runId, {
        type: 'run.resumed',
        actor: 'stage-runner',
        data: {
          fromRunId: resume.runId,
          branch: resume.branch,
          headSha: resume.headSha,
          files: seeded.files,
          deleted: seeded.deleted,
          ...(seeded.skipped.length ? { skipped: seeded.skipped.slice(0, 20) } : {}),
        },
      });
    await updateStatusComment(deps, updated);
    return { timeouts: runContract.timeouts, kind: updated.kind };
  } catch (error) {
    if (error instanceof AdmissionRefusedError && run.issueNumber) {
      await deps.github
        .createComment(repo, run.issueNumber, `Code Factory cannot start run \`${runId}\`: ${error.message}`)
        .catch(() => undefined);
    }
    throw error;
  }
}
