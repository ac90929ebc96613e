import { tmpdir } from 'node:os';
import path from 'node:path';
import { FactoryError } from '../shared/errors';
import type { Blobs, GitHub, RepoRef } from '../shared/ports';
import { isDirectory, unpackTarball } from '../shared/tarball';

/**
 * A run's repository at its base SHA, fetched once as a tarball through the GitHub API, kept in
 * the workspaces bucket, and unpacked into this container's /tmp on first use. The read tools work
 * on the unpacked tree (plus the run's overlay), so reading never costs a GitHub call per file.
 */

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
 * top folder (`owner-repo-sha/`), which is stripped (see unpackTarball).
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
  return unpackTarball(tarball, target);
}
