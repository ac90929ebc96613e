import type { Workspace } from './workbench';

/**
 * The pending change as the workbench's unified diff (`diff --git`, `@@` hunks), sized for a
 * prompt: the budget is shared fairly among the changed files (a small file is shown whole, what
 * it leaves goes to the others), so every file appears with the start of its hunks, and a file cut
 * short says so and how to see the rest. No file is dropped.
 */

/** Every file gets at least this much, even when that overruns the budget. */
const MIN_FILE_CHARS = 600;

/** Budget per part: whole when it fits its fair share of what is left. */
export function fairShares(sizes: readonly number[], budget: number): number[] {
  const shares = new Array<number>(sizes.length).fill(0);
  const order = sizes.map((size, index) => ({ size, index })).sort((a, b) => a.size - b.size);
  let left = budget;
  order.forEach(({ size, index }, rank) => {
    const share = Math.max(Math.floor(left / (order.length - rank)), MIN_FILE_CHARS);
    shares[index] = Math.min(size, share);
    left = Math.max(left - shares[index], 0);
  });
  return shares;
}

function cutFile(part: string, share: number): string {
  if (part.length <= share) return part;
  const path = /^diff --git a\/(.*) b\//.exec(part)?.[1] ?? '';
  const end = part.lastIndexOf('\n', share);
  const head = part.slice(0, end > 0 ? end : share);
  const hidden = part.slice(head.length).split('\n').filter(Boolean).length;
  return `${head}\n[… ${hidden} more lines of this file's diff not shown: call diff with path "${path}" to see them]\n`;
}

export async function diffForPrompt(workspace: Workspace, budget: number): Promise<string> {
  const full = await workspace.diff({});
  const [head = '', ...files] = full.split(/^(?=diff --git )/m);
  if (files.length === 0) return full;
  const shares = fairShares(
    files.map((part) => part.length),
    budget - head.length,
  );
  return head + files.map((part, i) => cutFile(part, shares[i] ?? MIN_FILE_CHARS)).join('');
}
