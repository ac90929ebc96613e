import { fail, formatBytes, plural } from './output';
import { repoPath } from './paths';
import type { Snapshot } from './view';

/**
 * list_files: the files under a directory (default the root) as an indented tree, directories
 * first, each file with its size and each directory with its file count and total size; files
 * with pending changes are marked [new] or [modified]. Over MAX_LIST_ENTRIES entries, deeper
 * directories are collapsed into their summary line; if even the first level is too long, the
 * listing is cut. Either way a note says so.
 */

export const MAX_LIST_ENTRIES = 1000;

export interface ListFilesInput {
  path?: string;
}

interface Node {
  name: string;
  path: string;
  dir: boolean;
  size: number;
  files: number;
  children: Map<string, Node>;
}

export function listFiles(snapshot: Snapshot, input: ListFilesInput): string {
  const scope = repoPath(input.path ?? '', { allowRoot: true });
  if ('error' in scope) return fail(scope.error);
  const dir = scope.path;
  if (!snapshot.isDirectory(dir)) {
    if (snapshot.isFile(dir)) return `${dir}  (${formatBytes(snapshot.size(dir))})`;
    return fail(`${dir}: no such directory`);
  }

  const root = newNode(dir === '' ? '.' : dir, dir, true);
  const strip = dir === '' ? 0 : dir.length + 1;
  for (const path of snapshot.filesUnder(dir)) {
    const size = snapshot.size(path);
    const names = path.slice(strip).split('/');
    let node = root;
    names.forEach((name, i) => {
      node.size += size;
      node.files += 1;
      let child = node.children.get(name);
      if (!child) {
        const isDir = i < names.length - 1;
        child = newNode(name, isDir ? names.slice(0, i + 1).join('/') : path, isDir);
        node.children.set(name, child);
      }
      node = child;
    });
    node.size = size;
    node.files = 1;
  }

  // The deepest level whose listing fits; deeper directories show as their summary line.
  const perDepth: number[] = [];
  const tally = (node: Node, depth: number) => {
    for (const child of node.children.values()) {
      perDepth[depth] = (perDepth[depth] ?? 0) + 1;
      if (child.dir) tally(child, depth + 1);
    }
  };
  tally(root, 0);
  let maxDepth = 0;
  for (let total = 0; maxDepth < perDepth.length; maxDepth++) {
    total += perDepth[maxDepth] ?? 0;
    if (total > MAX_LIST_ENTRIES) break;
  }
  const depthLimit = Math.max(maxDepth, 1);

  const lines = [`${root.name}/  (${plural(root.files, 'file')}, ${formatBytes(root.size)})`];
  let cut = false;
  const emit = (node: Node, depth: number) => {
    const children = [...node.children.values()].sort((a, b) =>
      a.dir === b.dir ? (a.name < b.name ? -1 : 1) : a.dir ? -1 : 1,
    );
    for (const child of children) {
      if (lines.length > MAX_LIST_ENTRIES) {
        cut = true;
        return;
      }
      const indent = '  '.repeat(depth + 1);
      if (child.dir) {
        lines.push(`${indent}${child.name}/  (${plural(child.files, 'file')}, ${formatBytes(child.size)})`);
        if (depth + 1 < depthLimit) emit(child, depth + 1);
      } else {
        lines.push(`${indent}${child.name}  (${formatBytes(child.size)})${changeMark(snapshot, child.path)}`);
      }
    }
  };
  emit(root, 0);
  const entries = perDepth.reduce((sum, count) => sum + count, 0);
  if (cut) {
    lines.push(`[listing cut at ${MAX_LIST_ENTRIES} entries; use glob or list_files with a narrower path]`);
  } else if (depthLimit < perDepth.length) {
    lines.push(
      `[${entries} entries in all: directories below depth ${depthLimit} are shown collapsed; ` +
        'call list_files with path set to one of them to see inside]',
    );
  }
  return lines.join('\n');
}

const newNode = (name: string, path: string, dir: boolean): Node => ({
  name,
  path,
  dir,
  size: 0,
  files: 0,
  children: new Map(),
});

function changeMark(snapshot: Snapshot, path: string): string {
  if (!snapshot.changes.has(path)) return '';
  return snapshot.index.files.has(path) ? ' [modified]' : ' [new]';
}
