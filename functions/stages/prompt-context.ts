import type { Run } from '../shared/domain/run';
import type { StagePorts } from './deps';
import { readGuidance } from './guidance';
import type { PromptContext } from './prompts';
import { diffForPrompt } from './prompt-diff';
import { workspaceOf } from './workspace';

/**
 * What a stage's first user turn needs from the run's workspace: the repository's guidance files
 * (with nested AGENTS.md on the paths the stage works on), the previous attempt's diff for a fix
 * attempt, the change's diff for the review.
 */

/** Characters of diff in a first user turn (about 8k and 15k tokens). */
export const PREVIOUS_DIFF_CHARS = 30_000;
export const REVIEW_DIFF_CHARS = 60_000;

export async function promptContext(
  deps: StagePorts,
  run: Run,
  stage: 'plan' | 'implement' | 'review',
): Promise<PromptContext> {
  const workspace = await workspaceOf(deps, run);
  const changed = stage === 'plan' ? [] : (await workspace.overlay.list()).map((change) => change.path);
  const paths = stage === 'implement' ? [...(run.plan?.files ?? []), ...changed] : changed;
  const guidance = await readGuidance(workspace.base, paths);
  if (stage === 'plan') return { guidance };
  if (stage === 'review') return { guidance, diff: await diffForPrompt(workspace, REVIEW_DIFF_CHARS) };
  // A fix attempt (feedback from the boundary, the checks or the review) sees what it did before.
  if (!run.feedback || changed.length === 0) return { guidance };
  return { guidance, previousDiff: await diffForPrompt(workspace, PREVIOUS_DIFF_CHARS) };
}
