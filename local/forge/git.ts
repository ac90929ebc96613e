import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { chmod, mkdir, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import git from 'isomorphic-git';

/**
 * The forge's object store: one bare repository per forge repository, kept by isomorphic-git, so
 * every id is a real git SHA-1 and `git clone` of the directory (or over smart HTTP) works.
 */

export type GitMode = '100644' | '100755' | '040000' | '160000' | '120000';
export type GitObjectType = 'blob' | 'tree' | 'commit' | 'tag';

export interface GitIdentity {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  timestamp: number;
  timezoneOffset: number;
}

export interface FlatTreeEntry {
  path: string;
  mode: GitMode;
  type: 'blob' | 'tree' | 'commit';
  sha: string;
}

/** One change of POST /git/trees: `sha: null` deletes the path; `content` writes a new blob. */
export interface TreeChange {
  path: string;
  mode: GitMode;
  type: 'blob' | 'tree' | 'commit';
  sha?: string | null;
  content?: string;
}

export interface CommitData {
  sha: string;
  tree: string;
  parents: string[];
  message: string;
  author: GitIdentity;
  committer: GitIdentity;
}

export class GitError extends Error {
  constructor(
    readonly kind: 'not_found' | 'invalid' | 'conflict',
    message: string,
  ) {
    super(message);
    this.name = 'GitError';
  }
}

const SHA_PATTERN = /^[0-9a-f]{40}$/;
export const isSha = (value: string): boolean => SHA_PATTERN.test(value);
export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
/** How many commits a history walk may visit (every loop is bounded). */
const MAX_WALK = 100_000;

interface DirNode {
  kind: 'dir';
  /** The stored tree this directory started from (unchanged directories are reused as is). */
  sha?: string;
  loaded: boolean;
  dirty: boolean;
  children: Map<string, DirNode | LeafNode>;
}
interface LeafNode {
  kind: 'leaf';
  mode: GitMode;
  type: 'blob' | 'commit';
  sha: string;
}

export class GitRepo {
  /** isomorphic-git's object cache, shared by the calls on this repository. */
  private readonly cache = {};

  constructor(readonly gitdir: string) {}

  async init(defaultBranch: string): Promise<void> {
    await git.init({ fs, gitdir: this.gitdir, bare: true, defaultBranch });
  }

  async exists(): Promise<boolean> {
    return fs.existsSync(path.join(this.gitdir, 'HEAD'));
  }

  // ---------------------------------------------------------------------------------------------
  // objects
  // ---------------------------------------------------------------------------------------------
  async objectType(oid: string): Promise<GitObjectType | undefined> {
    if (!isSha(oid)) return undefined;
    try {
      const object = await git.readObject({
        fs,
        gitdir: this.gitdir,
        oid,
        format: 'content',
        cache: this.cache,
      });
      return object.type as GitObjectType;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  writeBlob(content: Uint8Array): Promise<string> {
    return git.writeBlob({ fs, gitdir: this.gitdir, blob: content });
  }

  async readBlob(oid: string): Promise<Uint8Array | undefined> {
    if ((await this.objectType(oid)) !== 'blob') return undefined;
    const { blob } = await git.readBlob({ fs, gitdir: this.gitdir, oid, cache: this.cache });
    return blob;
  }

  /** The entries directly in a tree (a commit is peeled to its tree). */
  async readTree(oid: string): Promise<FlatTreeEntry[]> {
    const { tree } = await git.readTree({ fs, gitdir: this.gitdir, oid, cache: this.cache });
    return tree.map((entry) => ({
      path: entry.path,
      mode: normalizeMode(entry.mode),
      type: entry.type as FlatTreeEntry['type'],
      sha: entry.oid,
    }));
  }

  /** Every entry below a tree, trees included, paths relative to it (GitHub's `recursive=1`). */
  async readTreeRecursive(
    oid: string,
    limit = 100_000,
  ): Promise<{ entries: FlatTreeEntry[]; truncated: boolean }> {
    const entries: FlatTreeEntry[] = [];
    const pending: Array<{ sha: string; prefix: string }> = [{ sha: oid, prefix: '' }];
    while (pending.length > 0) {
      const next = pending.shift();
      if (!next) break;
      for (const entry of await this.readTree(next.sha)) {
        if (entries.length >= limit) return { entries, truncated: true };
        const full = { ...entry, path: next.prefix + entry.path };
        entries.push(full);
        if (entry.type === 'tree') pending.push({ sha: entry.sha, prefix: `${full.path}/` });
      }
    }
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { entries, truncated: false };
  }

  /** The tree of a commit, or the tree itself. */
  async treeOf(oid: string): Promise<string | undefined> {
    const type = await this.objectType(oid);
    if (type === 'tree') return oid;
    if (type === 'commit') return (await this.readCommit(oid))?.tree;
    return undefined;
  }

  /** The entry at `filePath` below the tree-ish `root`, or undefined. */
  async entryAt(root: string, filePath: string): Promise<FlatTreeEntry | undefined> {
    const tree = await this.treeOf(root);
    if (!tree) return undefined;
    const parts = filePath.split('/').filter((part) => part.length > 0);
    if (parts.length === 0) return { path: '', mode: '040000', type: 'tree', sha: tree };
    let current = tree;
    for (const [index, part] of parts.entries()) {
      const entry = (await this.readTree(current)).find((candidate) => candidate.path === part);
      if (!entry) return undefined;
      if (index === parts.length - 1) return { ...entry, path: parts.join('/') };
      if (entry.type !== 'tree') return undefined;
      current = entry.sha;
    }
    return undefined;
  }

  /**
   * POST /git/trees: applies `changes` (paths may be nested) over `baseTree` and writes every
   * changed directory; directories left empty disappear, as in git.
   */
  async buildTree(baseTree: string | undefined, changes: TreeChange[]): Promise<string> {
    const root: DirNode = { kind: 'dir', loaded: !baseTree, dirty: true, children: new Map() };
    if (baseTree) {
      const tree = await this.treeOf(baseTree);
      if (!tree) throw new GitError('invalid', 'base_tree is not a valid tree');
      root.sha = tree;
    }
    for (const change of changes) {
      const parts = change.path.split('/');
      if (parts.some((part) => part === '' || part === '.' || part === '..' || part === '.git')) {
        throw new GitError('invalid', `tree.path "${change.path}" is not a valid path`);
      }
      const leafName = parts.pop() as string;
      let dir: DirNode | undefined = root;
      for (const part of parts) {
        await this.loadDir(dir);
        dir.dirty = true;
        const child: DirNode | LeafNode | undefined = dir.children.get(part);
        if (child?.kind === 'dir') {
          dir = child;
          continue;
        }
        // Deleting below a directory that does not exist changes nothing.
        if (change.sha === null) {
          dir = undefined;
          break;
        }
        const created: DirNode = { kind: 'dir', loaded: true, dirty: true, children: new Map() };
        dir.children.set(part, created);
        dir = created;
      }
      if (!dir) continue;
      await this.loadDir(dir);
      dir.dirty = true;
      if (change.sha === null) {
        dir.children.delete(leafName);
        continue;
      }
      let sha = change.sha;
      if (change.content !== undefined) {
        if (change.type !== 'blob') throw new GitError('invalid', 'content is only allowed for blobs');
        sha = await this.writeBlob(Buffer.from(change.content, 'utf8'));
      }
      if (!sha || !isSha(sha))
        throw new GitError('invalid', `tree.sha for "${change.path}" is not a valid sha`);
      if (change.type === 'tree') {
        if ((await this.objectType(sha)) !== 'tree') throw new GitError('invalid', `${sha} is not a tree`);
        dir.children.set(leafName, { kind: 'dir', sha, loaded: false, dirty: false, children: new Map() });
      } else {
        if (change.type === 'blob' && (await this.objectType(sha)) !== 'blob') {
          throw new GitError('invalid', `${sha} is not a blob`);
        }
        dir.children.set(leafName, { kind: 'leaf', mode: change.mode, type: change.type, sha });
      }
    }
    return (await this.writeDir(root)) ?? (await this.writeEmptyTree());
  }

  private async loadDir(dir: DirNode): Promise<void> {
    if (dir.loaded) return;
    dir.loaded = true;
    if (!dir.sha) return;
    for (const entry of await this.readTree(dir.sha)) {
      dir.children.set(
        entry.path,
        entry.type === 'tree'
          ? { kind: 'dir', sha: entry.sha, loaded: false, dirty: false, children: new Map() }
          : { kind: 'leaf', mode: entry.mode, type: entry.type, sha: entry.sha },
      );
    }
  }

  /** Writes a directory; undefined when it ended up empty. */
  private async writeDir(dir: DirNode): Promise<string | undefined> {
    if (!dir.dirty) return dir.sha;
    const entries: Array<{ mode: string; path: string; oid: string; type: 'blob' | 'tree' | 'commit' }> = [];
    for (const [name, child] of dir.children) {
      if (child.kind === 'leaf') {
        entries.push({ mode: child.mode, path: name, oid: child.sha, type: child.type });
        continue;
      }
      const sha = await this.writeDir(child);
      if (sha) entries.push({ mode: '040000', path: name, oid: sha, type: 'tree' });
    }
    if (entries.length === 0) return undefined;
    return git.writeTree({ fs, gitdir: this.gitdir, tree: entries });
  }

  private writeEmptyTree(): Promise<string> {
    return git.writeTree({ fs, gitdir: this.gitdir, tree: [] });
  }

  async writeCommit(commit: Omit<CommitData, 'sha'>): Promise<string> {
    if ((await this.objectType(commit.tree)) !== 'tree')
      throw new GitError('invalid', 'tree is not a valid tree');
    for (const parent of commit.parents) {
      if ((await this.objectType(parent)) !== 'commit')
        throw new GitError('invalid', `parent ${parent} is not a commit`);
    }
    return git.writeCommit({
      fs,
      gitdir: this.gitdir,
      commit: {
        message: commit.message.endsWith('\n') ? commit.message : `${commit.message}\n`,
        tree: commit.tree,
        parent: commit.parents,
        author: commit.author,
        committer: commit.committer,
      },
    });
  }

  async readCommit(oid: string): Promise<CommitData | undefined> {
    if ((await this.objectType(oid)) !== 'commit') return undefined;
    const { commit } = await git.readCommit({ fs, gitdir: this.gitdir, oid, cache: this.cache });
    return {
      sha: oid,
      tree: commit.tree,
      parents: commit.parent,
      message: commit.message,
      author: commit.author,
      committer: commit.committer ?? commit.author,
    };
  }

  /** True when `ancestor` is `oid` or one of its ancestors. */
  async isAncestor(ancestor: string, oid: string): Promise<boolean> {
    if (ancestor === oid) return true;
    return git.isDescendent({ fs, gitdir: this.gitdir, oid, ancestor, depth: -1, cache: this.cache });
  }

  /** The best common ancestor of two commits (what a pull request's diff starts from). */
  async mergeBase(a: string, b: string): Promise<string | undefined> {
    const [base] = await git.findMergeBase({ fs, gitdir: this.gitdir, oids: [a, b], cache: this.cache });
    return base;
  }

  /** The commits reachable from `heads` and not from `bases`, newest first (bounded). */
  async commitsBetween(bases: string[], heads: string[], limit = 250): Promise<CommitData[]> {
    const excluded = await this.reachableCommits(bases);
    const result: CommitData[] = [];
    const seen = new Set<string>();
    const pending = [...heads];
    while (pending.length > 0 && result.length < limit) {
      const oid = pending.shift() as string;
      if (seen.has(oid) || excluded.has(oid)) continue;
      seen.add(oid);
      const commit = await this.readCommit(oid);
      if (!commit) continue;
      result.push(commit);
      pending.push(...commit.parents);
    }
    return result;
  }

  private async reachableCommits(heads: string[]): Promise<Set<string>> {
    const seen = new Set<string>();
    const pending = [...heads];
    while (pending.length > 0 && seen.size < MAX_WALK) {
      const oid = pending.pop() as string;
      if (seen.has(oid)) continue;
      const commit = await this.readCommit(oid);
      if (!commit) continue;
      seen.add(oid);
      pending.push(...commit.parents);
    }
    return seen;
  }

  /**
   * A three-way merge of `theirs` into `ours` without touching any ref. Returns the merged tree,
   * or undefined on a conflict (GitHub's "not mergeable").
   */
  async mergeTrees(ours: string, theirs: string, identity: GitIdentity): Promise<string | undefined> {
    try {
      const result = await git.merge({
        fs,
        gitdir: this.gitdir,
        ours,
        theirs,
        fastForward: false,
        noUpdateBranch: true,
        abortOnConflict: true,
        author: identity,
        committer: identity,
        message: 'forge merge probe',
        cache: this.cache,
      });
      if (result.alreadyMerged) return undefined;
      return result.tree ?? (result.oid ? await this.treeOf(result.oid) : undefined);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'MergeConflictError' || code === 'MergeNotSupportedError') return undefined;
      throw error;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // refs (full names: refs/heads/main)
  // ---------------------------------------------------------------------------------------------
  async resolveRef(ref: string): Promise<string | undefined> {
    try {
      return await git.resolveRef({ fs, gitdir: this.gitdir, ref });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Every ref under refs/heads and refs/tags, sorted by name. */
  async listRefs(): Promise<Array<{ ref: string; sha: string }>> {
    const refs: Array<{ ref: string; sha: string }> = [];
    for (const prefix of ['refs/heads', 'refs/tags']) {
      const names = await git.listRefs({ fs, gitdir: this.gitdir, filepath: prefix });
      for (const name of names) {
        const ref = `${prefix}/${name}`;
        const sha = await this.resolveRef(ref);
        if (sha) refs.push({ ref, sha });
      }
    }
    return refs.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  }

  async writeRef(ref: string, sha: string): Promise<void> {
    await git.writeRef({ fs, gitdir: this.gitdir, ref, value: sha, force: true });
  }

  async deleteRef(ref: string): Promise<void> {
    await git.deleteRef({ fs, gitdir: this.gitdir, ref });
  }

  async setHead(branch: string): Promise<void> {
    await git.writeRef({
      fs,
      gitdir: this.gitdir,
      ref: 'HEAD',
      value: `refs/heads/${branch}`,
      symbolic: true,
      force: true,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // checkout and packing
  // ---------------------------------------------------------------------------------------------
  /** Writes the tree of `commitOrTree` into `dir` (the local CI's checkout; no .git). */
  async checkout(commitOrTree: string, dir: string): Promise<void> {
    const tree = await this.treeOf(commitOrTree);
    if (!tree) throw new GitError('not_found', `no tree for ${commitOrTree}`);
    const { entries } = await this.readTreeRecursive(tree);
    await mkdir(dir, { recursive: true });
    const root = await realpath(dir);
    const links: Array<{ target: string; text: string; blob: Uint8Array }> = [];
    for (const entry of entries) {
      const target = path.join(root, entry.path);
      if (entry.type === 'tree') {
        await mkdir(target, { recursive: true });
      } else if (entry.type === 'blob') {
        const blob = (await this.readBlob(entry.sha)) ?? new Uint8Array();
        await mkdir(path.dirname(target), { recursive: true });
        if (entry.mode === '120000') {
          links.push({ target, text: Buffer.from(blob).toString('utf8'), blob });
        } else {
          await writeFile(target, blob);
          if (entry.mode === '100755') await chmod(target, 0o755);
        }
      }
    }
    // Symlinks, as GitHub's tarballs and a git checkout have them (a test suite's fixtures, a
    // monorepo's shared files), made once every file is written, so nothing is written through
    // one. A link whose target is absolute or leads out of the checkout, directly or through
    // other links, is a file holding the link text instead: a checkout never points outside.
    const inside = (resolved: string) => resolved === root || resolved.startsWith(`${root}${path.sep}`);
    for (const link of links) {
      if (
        path.isAbsolute(link.text) ||
        link.text.includes('\0') ||
        !inside(path.resolve(path.dirname(link.target), link.text))
      )
        await writeFile(link.target, link.blob);
      else await symlink(link.text, link.target);
    }
    for (const link of links) {
      const resolved = await realpath(link.target).catch(() => undefined); // dangling or a loop: harmless
      if (resolved !== undefined && !inside(resolved)) {
        await rm(link.target, { force: true });
        await writeFile(link.target, link.blob);
      }
    }
  }

  /** Every object reachable from `wants` and not from `haves` (commits, trees, blobs). */
  async objectsFor(wants: string[], haves: string[]): Promise<string[]> {
    const excludedCommits = await this.reachableCommits(haves.filter(isSha));
    const excluded = new Set<string>();
    for (const commit of excludedCommits) {
      excluded.add(commit);
      const data = await this.readCommit(commit);
      if (data) await this.collectTree(data.tree, excluded, new Set());
    }
    const result = new Set<string>();
    const pending = [...wants];
    let visited = 0;
    while (pending.length > 0 && visited < MAX_WALK) {
      visited += 1;
      const oid = pending.pop() as string;
      if (result.has(oid) || excluded.has(oid)) continue;
      const commit = await this.readCommit(oid);
      if (!commit) continue;
      result.add(oid);
      await this.collectTree(commit.tree, result, excluded);
      pending.push(...commit.parents);
    }
    return [...result];
  }

  private async collectTree(tree: string, into: Set<string>, excluded: Set<string>): Promise<void> {
    if (into.has(tree) || excluded.has(tree)) return;
    into.add(tree);
    for (const entry of await this.readTree(tree)) {
      if (entry.type === 'tree') await this.collectTree(entry.sha, into, excluded);
      else if (entry.type === 'blob' && !excluded.has(entry.sha)) into.add(entry.sha);
    }
  }

  /**
   * Takes a pushed pack in: indexes it in a quarantine directory, checks that every object it
   * brings is reachable from `tips` and that what they reach is either in it or already stored,
   * and only then moves it into the store. The store so only ever holds complete histories, which
   * is what lets the check stop at objects already stored. Returns why not, or undefined.
   */
  async receivePack(pack: Buffer, tips: string[]): Promise<string | undefined> {
    // No pack at all: the tips are commits the store already has.
    const hasHeader = pack.length >= 32 && pack.subarray(0, 4).toString('latin1') === 'PACK';
    if (pack.length > 0 && !hasHeader) return 'bad pack header';
    const count = hasHeader ? pack.readUInt32BE(8) : 0;
    if (hasHeader && ![2, 3].includes(pack.readUInt32BE(4))) return 'bad pack version';
    const checksum = createHash('sha1').update(pack.subarray(0, -20)).digest();
    if (hasHeader && !checksum.equals(pack.subarray(-20))) return 'pack checksum mismatch';
    const name = `pack-${checksum.toString('hex')}`;
    const quarantine = path.join(this.gitdir, `quarantine-${randomUUID()}`);
    try {
      const incoming = new GitRepo(quarantine);
      let oids = new Set<string>();
      if (count > 0) {
        await mkdir(path.join(quarantine, 'objects', 'pack'), { recursive: true });
        await writeFile(path.join(quarantine, 'objects', 'pack', `${name}.pack`), pack);
        const indexed = await git.indexPack({
          fs,
          dir: quarantine,
          gitdir: this.gitdir,
          filepath: `objects/pack/${name}.pack`,
          cache: {},
        });
        oids = new Set(indexed.oids);
        if (oids.size !== count) return 'pack object count mismatch';
      }
      const reached = await this.connectivity(tips, incoming, oids);
      if (reached === undefined) return 'missing necessary objects';
      if (reached.size !== oids.size) return 'pack has objects no pushed ref reaches';
      if (count > 0) {
        for (const ext of ['pack', 'idx']) {
          await rename(
            path.join(quarantine, 'objects', 'pack', `${name}.${ext}`),
            path.join(this.gitdir, 'objects', 'pack', `${name}.${ext}`),
          );
        }
      }
      return undefined;
    } catch (error) {
      return `index-pack failed: ${error instanceof Error ? error.message.split('\n')[0] : 'unknown'}`;
    } finally {
      await rm(quarantine, { recursive: true, force: true });
    }
  }

  /** The incoming objects reachable from `tips`; undefined when any object they reach is missing. */
  private async connectivity(
    tips: string[],
    incoming: GitRepo,
    oids: Set<string>,
  ): Promise<Set<string> | undefined> {
    const reached = new Set<string>();
    const present = new Set<string>();
    const stored = async (oid: string, type: GitObjectType) => {
      if (present.has(oid)) return true;
      if ((await this.objectType(oid)) !== type) return false;
      present.add(oid);
      return true;
    };
    const pending: Array<{ oid: string; type: 'commit' | 'tree' | 'blob' }> = tips.map((oid) => ({
      oid,
      type: 'commit',
    }));
    let visited = 0;
    while (pending.length > 0) {
      visited += 1;
      if (visited > 20 * MAX_WALK) return undefined;
      const next = pending.pop() as { oid: string; type: 'commit' | 'tree' | 'blob' };
      if (reached.has(next.oid)) continue;
      if (!oids.has(next.oid)) {
        if (!(await stored(next.oid, next.type))) return undefined;
        continue;
      }
      reached.add(next.oid);
      if (next.type === 'commit') {
        const commit = await incoming.readCommit(next.oid);
        if (!commit) return undefined;
        pending.push({ oid: commit.tree, type: 'tree' });
        for (const parent of commit.parents) pending.push({ oid: parent, type: 'commit' });
      } else if (next.type === 'tree') {
        if ((await incoming.objectType(next.oid)) !== 'tree') return undefined;
        for (const entry of await incoming.readTree(next.oid)) {
          // A submodule's commit lives in another repository (git does not require it either).
          if (entry.type !== 'commit') pending.push({ oid: entry.sha, type: entry.type });
        }
      }
    }
    return reached;
  }

  async pack(oids: string[]): Promise<Uint8Array> {
    const { packfile } = await git.packObjects({ fs, gitdir: this.gitdir, oids, cache: this.cache });
    return packfile ?? new Uint8Array();
  }
}

function normalizeMode(mode: string): GitMode {
  const padded = mode.padStart(6, '0');
  if (padded === '040000' || padded === '100755' || padded === '120000' || padded === '160000') return padded;
  return '100644';
}

const isNotFound = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: string }).code === 'NotFoundError';
