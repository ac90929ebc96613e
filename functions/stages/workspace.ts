import type { Run } from '../shared/domain/run';
import type { WorkspaceStore } from '../shared/store/workspace';
import type { StagePorts } from './deps';
import { ensureSnapshot, unpackedTree } from './snapshot';
import { BaseTree, type Overlay, type PendingChange, Workspace } from './workbench';

/** The run's pending change (its WorkspaceFile items) as the workbench's overlay. */
export class StoreOverlay implements Overlay {
  constructor(
    private readonly store: WorkspaceStore,
    private readonly runId: string,
    private readonly now: () => string,
  ) {}

  async get(path: string): Promise<PendingChange | undefined> {
    const file = await this.store.getWorkspaceFile(this.runId, path);
    if (!file) return undefined;
    return file.deleted ? { path, deleted: true } : { path, deleted: false, content: file.content ?? '' };
  }

  async put(change: PendingChange): Promise<void> {
    await this.store.putWorkspaceFile(this.runId, {
      path: change.path,
      deleted: change.deleted,
      ...(change.deleted ? {} : { content: change.content }),
      updatedAt: this.now(),
    });
  }

  delete(path: string): Promise<void> {
    return this.store.deleteWorkspaceFile(this.runId, path);
  }

  async list(): Promise<PendingChange[]> {
    return (await this.store.listWorkspaceFiles(this.runId)).map((file) =>
      file.deleted
        ? { path: file.path, deleted: true }
        : { path: file.path, deleted: false, content: file.content ?? '' },
    );
  }
}

/** Base trees of this container, by directory: their file index and cache outlive one invocation. */
const trees = new Map<string, BaseTree>();

/**
 * The run's workspace: its repository at the base SHA (one tarball through the GitHub API, kept
 * in the workspaces bucket, unpacked once per container) under its pending change.
 */
export async function workspaceOf(deps: StagePorts, run: Run): Promise<Workspace> {
  if (!run.baseSha) throw new Error(`run ${run.runId} has no base SHA (admit did not run)`);
  const key = await ensureSnapshot(deps, { runId: run.runId, repo: deps.repoOf(run) }, run.baseSha);
  const dir = await unpackedTree(deps, key);
  let base = trees.get(dir);
  if (!base) {
    base = new BaseTree(dir);
    trees.set(dir, base);
  }
  return new Workspace(base, new StoreOverlay(deps.store, run.runId, deps.now));
}
