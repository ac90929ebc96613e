import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { FactoryError } from '../shared/errors';
import type { Blobs, GitHub, RepoRef } from '../shared/ports';

/**
 * A run's repository at its base SHA, fetched once as a tarball through the GitHub API, kept in
 * the workspaces bucket, and unpacked into this container's /tmp on first use. The read tools work
 * on the unpacked tree (plus the run's overlay), so reading never costs a GitHub call per file.
 */

/** Unpacking stops beyond these: a repository this large does not fit the stage runner's /tmp. */
export const MAX_SNAPSHOT_BYTES = 2 * 1024 ** 3;
export const MAX_SNAPSHOT_ENTRIES = 200_000;

export class SnapshotTooLarge extends FactoryError {
  constructor(what: string) {
    super('SnapshotTooLarge', `the repository snapshot is too large to unpack (${what})`);
  }
}

export interface SnapshotDeps {
  github: Pick<GitHub, 'getTarball'>;
  blobs: Blobs;
}

export const snapshotKeyOf = (runId: string, sha: string) => `snapshots/${runId}/${sha}.tar.gz`;

/** Snapshots this container knows are stored: each Tools step would otherwise ask S3 again. */
const stored = new Set<string>();

/** Stores the tarball of `sha` under the run's key unless it is there already; returns the key. */
export async function ensureSnapshot(
  deps: SnapshotDeps,
  run: { runId: string; repo: RepoRef },
  sha: string,
): Promise<string> {
  const key = snapshotKeyOf(run.runId, sha);
  if (stored.has(key)) return key;
  if (!(await deps.blobs.exists(key))) {
    await deps.blobs.put(key, await deps.github.getTarball(run.repo, sha), 'application/gzip');
  }
  stored.add(key);
  return key;
}

/** Trees unpacked by this container, by snapshot key (kept while the container lives). */
const unpacked = new Map<string, Promise<string>>();

/**
 * The directory holding the snapshot's files, unpacking it on first use. GitHub's tarballs hold one
 * top folder (`owner-repo-sha/`), which is stripped. Only files, folders and links are written,
 * never outside the target (tar refuses absolute paths and `..`), and within the size bounds.
 */
export function unpackedTree(
  deps: Pick<SnapshotDeps, 'blobs'>,
  key: string,
  root = defaultRoot(),
): Promise<string> {
  let tree = unpacked.get(key);
  if (!tree) {
    tree = unpack(deps, key, root).catch((error: unknown) => {
      unpacked.delete(key);
      throw error;
    });
    unpacked.set(key, tree);
  }
  return tree;
}

const defaultRoot = () => path.join(tmpdir(), 'factory-workspaces');

async function unpack(deps: Pick<SnapshotDeps, 'blobs'>, key: string, root: string): Promise<string> {
  const target = path.join(root, key.replace(/[^A-Za-z0-9._-]+/g, '_'));
  if (await isDirectory(target)) return target;
  const tarball = await deps.blobs.get(key);
  if (!tarball) throw new FactoryError('SnapshotMissing', `no workspace snapshot under ${key}`);
  const partial = `${target}.partial-${randomBytes(6).toString('hex')}`;
  await mkdir(partial, { recursive: true });
  let bytes = 0;
  let entries = 0;
  let tooLarge: SnapshotTooLarge | undefined;
  try {
    await pipeline(
      Readable.from([tarball]),
      tar.x({
        cwd: partial,
        strip: 1,
        filter: (_path, entry) => {
          const type = 'type' in entry ? entry.type : undefined;
          if (type !== 'File' && type !== 'OldFile' && type !== 'Directory' && type !== 'SymbolicLink')
            return false;
          entries += 1;
          bytes += 'size' in entry && typeof entry.size === 'number' ? entry.size : 0;
          if (entries > MAX_SNAPSHOT_ENTRIES)
            tooLarge ??= new SnapshotTooLarge(`over ${MAX_SNAPSHOT_ENTRIES} entries`);
          if (bytes > MAX_SNAPSHOT_BYTES)
            tooLarge ??= new SnapshotTooLarge(`over ${MAX_SNAPSHOT_BYTES} bytes`);
          return tooLarge === undefined;
        },
      }),
    );
    if (tooLarge) throw tooLarge;
    await rename(partial, target).catch(async (error: unknown) => {
      // Another invocation of this container finished first: use its tree.
      if (!(await isDirectory(target))) throw error;
      await rm(partial, { recursive: true, force: true });
    });
    return target;
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}

const isDirectory = (dir: string): Promise<boolean> =>
  stat(dir).then(
    (found) => found.isDirectory(),
    () => false,
  );
