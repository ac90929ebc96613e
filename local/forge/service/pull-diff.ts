import { structuredPatch } from 'diff';
import type { GitRepo } from '../git';
import type { PullRecord } from '../state';

/**
 * A pull request's diff as GitHub computes it: from the merge base of its base branch and its head
 * (the "three-dot" diff), per file with GitHub's `patch` text (unified hunks, 3 lines of context).
 * Review comments may only sit on lines of these hunks, as on GitHub.
 */

export interface DiffFile {
  filename: string;
  status: 'added' | 'removed' | 'modified';
  /** The blob at the head (at the base for a removed file). */
  sha: string;
  additions: number;
  deletions: number;
  /** Absent for binary files, as on GitHub. */
  patch?: string;
  /** Lines a review comment may target: file line numbers on each side, with their hunk's text. */
  lines: { LEFT: Map<number, string>; RIGHT: Map<number, string> };
}

/** GitHub shows no patch for files this large, and neither does the forge. */
const MAX_PATCH_BYTES = 1024 * 1024;

const decoder = new TextDecoder('utf-8', { fatal: true });
const textOf = (bytes: Uint8Array | undefined): string | undefined => {
  if (!bytes || bytes.length > MAX_PATCH_BYTES || bytes.includes(0)) return undefined;
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
};

async function blobsAt(git: GitRepo, commit: string): Promise<Map<string, string>> {
  const tree = await git.treeOf(commit);
  if (!tree) return new Map();
  const { entries } = await git.readTreeRecursive(tree);
  return new Map(entries.filter((e) => e.type === 'blob').map((e) => [e.path, e.sha]));
}

/** The merge base and the changed files of `pull`, sorted by path. */
export async function pullDiff(
  git: GitRepo,
  pull: Pick<PullRecord, 'baseRef' | 'baseSha' | 'headSha'>,
): Promise<{ mergeBase: string; files: DiffFile[] }> {
  const baseTip = (await git.resolveRef(`refs/heads/${pull.baseRef}`)) ?? pull.baseSha;
  const mergeBase = (await git.mergeBase(baseTip, pull.headSha)) ?? baseTip;
  const [before, after] = await Promise.all([blobsAt(git, mergeBase), blobsAt(git, pull.headSha)]);
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  const files: DiffFile[] = [];
  for (const path of paths) {
    const old = before.get(path);
    const now = after.get(path);
    if (old === now) continue;
    const status = !old ? 'added' : !now ? 'removed' : 'modified';
    const [oldText, newText] = await Promise.all([
      old ? git.readBlob(old).then(textOf) : Promise.resolve(''),
      now ? git.readBlob(now).then(textOf) : Promise.resolve(''),
    ]);
    files.push(diffFile(path, status, (now ?? old) as string, oldText, newText));
  }
  return { mergeBase, files };
}

function diffFile(
  filename: string,
  status: DiffFile['status'],
  sha: string,
  oldText: string | undefined,
  newText: string | undefined,
): DiffFile {
  const lines: DiffFile['lines'] = { LEFT: new Map(), RIGHT: new Map() };
  if (oldText === undefined || newText === undefined)
    return { filename, status, sha, additions: 0, deletions: 0, lines };
  const { hunks } = structuredPatch(filename, filename, oldText, newText, '', '', { context: 3 });
  let additions = 0;
  let deletions = 0;
  const parts: string[] = [];
  for (const hunk of hunks) {
    // As git writes it: an empty side starts at the line before it (`@@ -0,0 +1,3 @@` for a new file).
    const oldStart = hunk.oldLines === 0 ? hunk.oldStart - 1 : hunk.oldStart;
    const newStart = hunk.newLines === 0 ? hunk.newStart - 1 : hunk.newStart;
    const header = `@@ -${oldStart},${hunk.oldLines} +${newStart},${hunk.newLines} @@`;
    const body = hunk.lines.filter((line) => !line.startsWith('\\'));
    const text = [header, ...body].join('\n');
    parts.push(text);
    let oldLine = hunk.oldStart;
    let newLine = hunk.newStart;
    for (const line of body) {
      if (line.startsWith('+')) {
        additions += 1;
        lines.RIGHT.set(newLine++, text);
      } else if (line.startsWith('-')) {
        deletions += 1;
        lines.LEFT.set(oldLine++, text);
      } else {
        lines.LEFT.set(oldLine++, text);
        lines.RIGHT.set(newLine++, text);
      }
    }
  }
  return { filename, status, sha, additions, deletions, patch: parts.join('\n'), lines };
}
