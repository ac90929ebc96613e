/**
 * The pending changes of a workspace: for each changed path, its new content or its deletion.
 * A path without an entry reads as in the base tree. The real store is DynamoDB (one item per
 * path, like the run's WorkspaceFile items); `MemoryOverlay` serves tests and local runs.
 */

export type PendingChange =
  | { path: string; deleted: false; content: string }
  | { path: string; deleted: true };

export interface Overlay {
  /** The pending change of `path`, or undefined when it reads as in the base tree. */
  get(path: string): Promise<PendingChange | undefined>;
  /** Records a new content or a deletion of `change.path`, replacing any earlier one. */
  put(change: PendingChange): Promise<void>;
  /** Forgets the pending change of `path` (a revert); nothing happens when there is none. */
  delete(path: string): Promise<void>;
  /** Every pending change, in no particular order. */
  list(): Promise<PendingChange[]>;
}

export class MemoryOverlay implements Overlay {
  private readonly changes = new Map<string, PendingChange>();

  constructor(initial: Iterable<PendingChange> = []) {
    for (const change of initial) this.changes.set(change.path, { ...change });
  }

  async get(path: string): Promise<PendingChange | undefined> {
    const change = this.changes.get(path);
    return change && { ...change };
  }

  async put(change: PendingChange): Promise<void> {
    this.changes.set(change.path, { ...change });
  }

  async delete(path: string): Promise<void> {
    this.changes.delete(path);
  }

  async list(): Promise<PendingChange[]> {
    return [...this.changes.values()].map((change) => ({ ...change }));
  }
}
