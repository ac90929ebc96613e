import { type Dirent, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { isSecretPath } from '../../shared/domain/workspace-paths';
import { bodyOfBytes, type FileBody, MAX_FILE_BYTES } from './text';

/**
 * The base tree: a directory on local disk holding the repository at the run's base commit (the
 * tarball unpacked), never changed by the tools. On first use it is indexed once (paths, sizes)
 * and file bodies are cached in memory up to a byte budget, so repeated searches do not touch
 * the disk. Symbolic links are followed only to regular files inside the root; links that leave
 * the root, dangle, or point at a directory or at a file holding secrets are recorded and never
 * read. Nothing outside the root is ever read: every read path comes from the index, which only
 * holds files inside it.
 *
 * Disk access is synchronous on purpose: for thousands of small local files the thread pool's
 * round trips cost more than the reads (5,000 files, 50 MB: about 100-250 ms synchronously,
 * 300-550 ms through fs/promises), and a stage Lambda serves one run at a time.
 */

export interface BaseFile {
  path: string;
  size: number;
  /** The real location on disk (a link's target, inside the root). */
  real: string;
}

export interface TreeIndex {
  files: Map<string, BaseFile>;
  /** Every indexed file path, sorted. */
  paths: string[];
  /** Symbolic links that are not followed, with the reason. */
  links: Map<string, string>;
  /** True when the tree held more than MAX_INDEXED_FILES files. */
  truncated: boolean;
}

export const MAX_INDEXED_FILES = 200_000;
const DEFAULT_CACHE_BYTES = 128 * 1024 * 1024;

export class BaseTree {
  private indexed?: Promise<TreeIndex>;
  private readonly bodies = new Map<string, Promise<FileBody>>();
  private cachedBytes = 0;

  constructor(
    readonly root: string,
    private readonly options: { cacheBytes?: number } = {},
  ) {}

  index(): Promise<TreeIndex> {
    if (!this.indexed) {
      const indexed = Promise.resolve().then(() => buildIndex(this.root));
      this.indexed = indexed;
      // A failed index (e.g. the directory vanished) is not kept: the next call tries again.
      indexed.catch(() => {
        if (this.indexed === indexed) this.indexed = undefined;
      });
    }
    return this.indexed;
  }

  /** The body of an indexed file, or undefined when `path` is not a file of the base tree. */
  async read(path: string): Promise<FileBody | undefined> {
    const file = (await this.index()).files.get(path);
    if (!file) return undefined;
    if (file.size > MAX_FILE_BYTES) return { kind: 'too-large', size: file.size };
    let body = this.bodies.get(path);
    if (!body) {
      body = Promise.resolve(file.real).then((real) => bodyOfBytes(readFileSync(real)));
      this.bodies.set(path, body);
      body.then(
        (read) => {
          const cost = read.kind === 'text' ? read.size : 0;
          if (this.cachedBytes + cost > (this.options.cacheBytes ?? DEFAULT_CACHE_BYTES))
            this.bodies.delete(path);
          else this.cachedBytes += cost;
        },
        () => this.bodies.delete(path),
      );
    }
    return body;
  }
}

const inside = (root: string, real: string) => real === root || real.startsWith(`${root}${sep}`);

function buildIndex(root: string): TreeIndex {
  const realRoot = realpathSync(root);
  const files = new Map<string, BaseFile>();
  const links = new Map<string, string>();
  let truncated = false;

  const addLink = (path: string, abs: string) => {
    let real: string;
    try {
      real = realpathSync(abs);
    } catch {
      links.set(path, 'is a broken symbolic link');
      return;
    }
    if (!inside(realRoot, real)) {
      links.set(path, 'is a symbolic link that points outside the workspace');
      return;
    }
    const target = statSync(real);
    if (target.isFile() && isSecretPath(relative(realRoot, real).split(sep).join('/'))) {
      links.set(path, 'is a symbolic link to a file that holds secrets by convention');
    } else if (target.isFile()) files.set(path, { path, size: target.size, real });
    else links.set(path, 'is a symbolic link to a directory (not followed)');
  };

  const walk = (dir: string, prefix: string): void => {
    const entries: Dirent[] = readdirSync(dir, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name === '.git') continue;
      const path = prefix + entry.name;
      const abs = join(dir, entry.name);
      if (entry.isDirectory()) walk(abs, `${path}/`);
      else if (files.size + links.size >= MAX_INDEXED_FILES) truncated = true;
      else if (entry.isFile()) files.set(path, { path, size: lstatSync(abs).size, real: abs });
      else if (entry.isSymbolicLink()) addLink(path, abs);
      // Sockets, FIFOs and devices are not files of a repository (reading a FIFO would block).
    }
  };
  walk(realRoot, '');
  return { files, paths: [...files.keys()].sort(), links, truncated };
}
