import type { BaseTree, TreeIndex } from './base-tree';
import type { Overlay, PendingChange } from './overlay';
import { isUnder } from '../../shared/domain/workspace-paths';
import { bodyOfText, type FileBody } from './text';

/**
 * One consistent look at a workspace: the base tree's files with the pending changes applied
 * (written files added or replaced, deleted files gone). Taken per tool call: the overlay is read
 * once, the base index is shared by every call.
 */
export class Snapshot {
  /** Every current file, sorted. */
  readonly paths: string[];

  constructor(
    private readonly base: BaseTree,
    readonly index: TreeIndex,
    readonly changes: ReadonlyMap<string, PendingChange>,
  ) {
    if (changes.size === 0) this.paths = index.paths;
    else {
      const paths = new Set(index.paths);
      for (const change of changes.values()) {
        if (change.deleted) paths.delete(change.path);
        else paths.add(change.path);
      }
      this.paths = [...paths].sort();
    }
  }

  isFile(path: string): boolean {
    const change = this.changes.get(path);
    return change ? !change.deleted : this.index.files.has(path);
  }

  /** A directory exists while some current file lies below it. */
  isDirectory(path: string): boolean {
    if (path === '') return true;
    const prefix = `${path}/`;
    const at = lowerBound(this.paths, prefix);
    return this.paths[at]?.startsWith(prefix) ?? false;
  }

  /** The current files under `dir` ('' for all), sorted. */
  filesUnder(dir: string): string[] {
    if (dir === '') return this.paths;
    if (this.isFile(dir)) return [dir];
    const prefix = `${dir}/`;
    const out: string[] = [];
    for (let i = lowerBound(this.paths, prefix); i < this.paths.length; i++) {
      const path = this.paths[i] as string;
      if (!path.startsWith(prefix)) break;
      out.push(path);
    }
    return out;
  }

  size(path: string): number {
    const change = this.changes.get(path);
    if (change) return change.deleted ? 0 : Buffer.byteLength(change.content);
    return this.index.files.get(path)?.size ?? 0;
  }

  /** The current body of a file, or undefined when it is not a current file. */
  async body(path: string): Promise<FileBody | undefined> {
    const change = this.changes.get(path);
    if (change) return change.deleted ? undefined : bodyOfText(change.content);
    return this.base.read(path);
  }

  /** The body of `path` in the base tree, pending changes aside (undefined when not there). */
  baseBody(path: string): Promise<FileBody | undefined> {
    return this.base.read(path);
  }

  /** Why `path` is not a readable file of the workspace (for error texts). */
  whyNotAFile(path: string): string {
    if (this.isDirectory(path))
      return `${path} is a directory, not a file (use list_files or glob to see inside)`;
    if (this.changes.get(path)?.deleted)
      return `${path} was deleted by a pending change (revert_file restores it)`;
    const link = this.linkAbove(path);
    if (link) return `${link.path} ${link.reason}`;
    return `${path}: no such file`;
  }

  /** The unfollowed symbolic link at `path` or above it, if any. */
  linkAbove(path: string): { path: string; reason: string } | undefined {
    for (const [link, reason] of this.index.links) {
      if (isUnder(path, link)) return { path: link, reason };
    }
    return undefined;
  }
}

/** The first index whose element is >= `key` in a sorted array. */
function lowerBound(sorted: readonly string[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid] as string) < key) low = mid + 1;
    else high = mid;
  }
  return low;
}

export async function takeSnapshot(base: BaseTree, overlay: Overlay): Promise<Snapshot> {
  const [index, changes] = await Promise.all([base.index(), overlay.list()]);
  return new Snapshot(base, index, new Map(changes.map((change) => [change.path, change])));
}
