import type { GitHub, RepoRef } from '../shared/ports';
import type { WorkspaceStore } from '../shared/store/workspace';

/**
 * What the deterministic stages (boundary, review's diff, the approval email) read of a run's
 * change: its files at the base SHA through the GitHub API with the pending change on top. The
 * model's own tools work on the whole unpacked workspace instead (workbench/, workspace.ts).
 */

export const MAX_TOOL_OUTPUT_CHARS = 16_000;

/** Outputs larger than the limit keep their head and say how much was cut. */
export function truncate(text: string, limit = MAX_TOOL_OUTPUT_CHARS): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, limit)}\n[... truncated ${text.length - limit} characters ...]`;
}

export interface ToolContext {
  github: GitHub;
  store: WorkspaceStore;
  repo: RepoRef;
  runId: string;
  baseSha: string;
  now: () => string;
}

/** A file's current text (pending change first), or undefined when absent or deleted. */
export async function readText(ctx: ToolContext, path: string): Promise<string | undefined> {
  const pending = await ctx.store.getWorkspaceFile(ctx.runId, path);
  if (pending) return pending.deleted ? undefined : pending.content;
  return (await ctx.github.getFile(ctx.repo, path, ctx.baseSha))?.content;
}
