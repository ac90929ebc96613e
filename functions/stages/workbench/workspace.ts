import { BaseTree } from './base-tree';
import { deleteFile, type PathInput, revertFile, type WriteFileInput, writeFile } from './changes';
import { KeyedLock } from './concurrency';
import { type DiffInput, diff } from './diff';
import { type EditFileInput, editFile } from './edit-file';
import { type GlobInput, glob } from './glob';
import { DEFAULT_GREP_TIMEOUT_MS, type GrepInput, grep } from './grep';
import { type ListFilesInput, listFiles } from './list-files';
import type { Overlay } from './overlay';
import { repoPath } from '../../shared/domain/workspace-paths';
import { type ReadFileInput, readFile } from './read-file';
import { type Snapshot, takeSnapshot } from './view';

/**
 * A workspace: a base tree on local disk plus an overlay of pending changes. Each operation is a
 * plain async function answering the text the model sees (failures start with `Error: `). Reads
 * look at a fresh snapshot (the overlay as it is now); changes to one path run one at a time, so
 * parallel edits of a file never lose one another. One BaseTree may back many workspaces: its
 * index and file cache are shared.
 */

export interface WorkspaceOptions {
  /** The time limit of one grep's pattern matching, in milliseconds (default 3,000). */
  grepTimeoutMs?: number;
}

export class Workspace {
  private readonly locks = new KeyedLock();

  constructor(
    readonly base: BaseTree,
    readonly overlay: Overlay,
    private readonly options: WorkspaceOptions = {},
  ) {}

  static fromDirectory(root: string, overlay: Overlay, options: WorkspaceOptions = {}): Workspace {
    return new Workspace(new BaseTree(root), overlay, options);
  }

  snapshot(): Promise<Snapshot> {
    return takeSnapshot(this.base, this.overlay);
  }

  async readFile(input: ReadFileInput): Promise<string> {
    return readFile(await this.snapshot(), input);
  }

  async grep(input: GrepInput): Promise<string> {
    return grep(await this.snapshot(), input, this.options.grepTimeoutMs ?? DEFAULT_GREP_TIMEOUT_MS);
  }

  async glob(input: GlobInput): Promise<string> {
    return glob(await this.snapshot(), input);
  }

  async listFiles(input: ListFilesInput = {}): Promise<string> {
    return listFiles(await this.snapshot(), input);
  }

  async diff(input: DiffInput = {}): Promise<string> {
    return diff(await this.snapshot(), input);
  }

  writeFile(input: WriteFileInput): Promise<string> {
    return this.change(input, (snapshot) => writeFile(snapshot, this.overlay, input));
  }

  editFile(input: EditFileInput): Promise<string> {
    return this.change(input, (snapshot) => editFile(snapshot, this.overlay, input));
  }

  deleteFile(input: PathInput): Promise<string> {
    return this.change(input, (snapshot) => deleteFile(snapshot, this.overlay, input));
  }

  revertFile(input: PathInput): Promise<string> {
    return this.change(input, (snapshot) => revertFile(snapshot, this.overlay, input));
  }

  /** A change under its path's lock, against a snapshot taken inside the lock. */
  private change(input: PathInput, apply: (snapshot: Snapshot) => Promise<string>): Promise<string> {
    const checked = repoPath(input.path);
    const key = 'path' in checked ? checked.path : input.path;
    return this.locks.run(key, async () => apply(await this.snapshot()));
  }
}
