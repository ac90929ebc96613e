import {
  chmodSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { repoPath, isSecretPath } from '../shared/domain/workspace-paths';
import type { SandboxWorkspace } from '../shared/ports';

/**
 * The workspace a sandboxed command works on: a fresh copy of the base tree with the pending
 * change laid over it. `.git` and files that hold secrets by convention (`.env`, keys,
 * `credentials`, …; see isSecretPath) are never copied, from the base or from the change.
 * Symbolic links are copied as links, never followed: inside the sandbox they resolve in the
 * sandbox's own file system, which holds only the copy and read-only system directories.
 * Sockets, FIFOs and devices are skipped. Layers (the setup output) are copied over the base the
 * same way, before the pending change.
 */
export interface CopyStats {
  files: number;
  skipped: string[];
}

export function copyWorkspace(workspace: SandboxWorkspace, dest: string): CopyStats {
  const stats: CopyStats = { files: 0, skipped: [] };
  mkdirSync(dest, { recursive: true });
  if (workspace.baseDir) copyTree(workspace.baseDir, dest, '', stats);
  for (const layer of workspace.layers ?? []) copyTree(layer, dest, '', stats);
  for (const raw of workspace.deleted ?? []) {
    const path = cleanPath(raw);
    if (path && parentsAreDirectories(dest, path)) rmSync(join(dest, path), { force: true, recursive: true });
  }
  for (const file of workspace.files ?? []) {
    const path = cleanPath(file.path);
    if (!path || isSecretPath(path)) {
      stats.skipped.push(file.path);
      continue;
    }
    const segments = path.split('/');
    let dir = dest;
    for (const segment of segments.slice(0, -1)) {
      dir = join(dir, segment);
      const kind = kindOf(dir);
      if (kind === 'missing') mkdirSync(dir);
      else if (kind !== 'dir') {
        rmSync(dir, { force: true, recursive: true });
        mkdirSync(dir);
      }
    }
    const target = join(dest, path);
    if (kindOf(target) !== 'missing') rmSync(target, { force: true, recursive: true });
    writeFileSync(target, file.content);
    stats.files++;
  }
  return stats;
}

function copyTree(from: string, to: string, prefix: string, stats: CopyStats): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.name === '.git' || isSecretPath(path)) {
      stats.skipped.push(path);
    } else if (entry.isDirectory()) {
      if (kindOf(target) !== 'dir') {
        rmSync(target, { force: true });
        mkdirSync(target);
      }
      copyTree(source, target, path, stats);
    } else if (entry.isSymbolicLink()) {
      rmSync(target, { force: true, recursive: true });
      symlinkSync(readlinkSync(source), target);
      stats.files++;
    } else if (entry.isFile()) {
      rmSync(target, { force: true, recursive: true });
      copyFileSync(source, target);
      chmodSync(target, lstatSync(source).mode & 0o777);
      stats.files++;
    } else {
      stats.skipped.push(path);
    }
  }
}

/** A clean repository-relative path, or undefined for anything that could leave the copy. */
function cleanPath(raw: string): string | undefined {
  const result = repoPath(raw);
  return 'path' in result ? result.path : undefined;
}

function kindOf(path: string): 'missing' | 'dir' | 'other' {
  try {
    return lstatSync(path).isDirectory() ? 'dir' : 'other';
  } catch {
    return 'missing';
  }
}

/** True when every parent of `path` inside `root` is a real directory (no link to follow). */
function parentsAreDirectories(root: string, path: string): boolean {
  let dir = root;
  for (const segment of path.split('/').slice(0, -1)) {
    dir = join(dir, segment);
    if (kindOf(dir) !== 'dir') return false;
  }
  return true;
}
