import type { Run } from '../shared/domain/run';
import type { StagePorts } from './deps';
import { followUpBlock } from './follow-up';
import { readGuidance } from './guidance';
import { rescueBlock } from './rescue';
import type { PromptContext } from './prompts';
import { diffForPrompt } from './prompt-diff';
import { resumeNote } from './resume';
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
  if (stage === 'review') return { guidance, diff: await diffForPrompt(workspace, REVIEW_DIFF_CHARS) };
  // A retry that resumes a stopped run: its note says where it stopped and what is left.
  const note = stage === 'plan' || !run.feedback ? await resumeNote(deps, run) : undefined;
  const resumed: Pick<PromptContext, 'resumedNote' | 'followUp'> = note ? { resumedNote: note } : {};
  if (stage === 'plan') return { guidance, ...resumed };
  const block = followUpBlock(run) ?? rescueBlock(run);
  if (block) resumed.followUp = block;
  // A fix attempt (feedback from the boundary, the checks or the review) sees what it did before,
  // and a resumed run what the stopped run did.
  if ((!run.feedback && !note) || changed.length === 0) return { guidance, ...resumed };
  return { guidance, ...resumed, previousDiff: await diffForPrompt(workspace, PREVIOUS_DIFF_CHARS) };
}
