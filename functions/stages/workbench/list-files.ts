import { fail, formatBytes, plural } from './output';
import { repoPath } from '../../shared/domain/workspace-paths';
import type { Snapshot } from './view';

/**
 * list_files: the files under a directory (default the root) as an indented tree, directories
 * first, each file with its size and each directory with its file count and total size; files
 * with pending changes are marked [new] or [modified]. Over MAX_LIST_ENTRIES entries, the
 * directories that do not fit are shown as their summary line only, marked [not expanded]; if
 * even the first level is too long, the listing is cut. Either way a note says so.
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

  // Breadth first, a directory is expanded while its entries fit the budget; a directory too
  // big to fit stays one summary line, and smaller ones after it may still be expanded.
  const expanded = new Set<Node>([root]);
  let used = root.children.size;
  const queue = sorted(root).filter((child) => child.dir);
  for (let next = queue.shift(); next; next = queue.shift()) {
    if (used + next.children.size > MAX_LIST_ENTRIES) continue;
    expanded.add(next);
    used += next.children.size;
    queue.push(...sorted(next).filter((child) => child.dir));
  }

  const lines = [`${root.name}/  (${plural(root.files, 'file')}, ${formatBytes(root.size)})`];
  let cut = false;
  let collapsed = 0;
  const emit = (node: Node, depth: number) => {
    for (const child of sorted(node)) {
      if (lines.length > MAX_LIST_ENTRIES) {
        cut = true;
        return;
      }
      const indent = '  '.repeat(depth + 1);
      if (child.dir) {
        const open = expanded.has(child);
        if (!open) collapsed++;
        lines.push(
          `${indent}${child.name}/  (${plural(child.files, 'file')}, ${formatBytes(child.size)})${open ? '' : ' [not expanded]'}`,
        );
        if (open) emit(child, depth + 1);
      } else {
        lines.push(`${indent}${child.name}  (${formatBytes(child.size)})${changeMark(snapshot, child.path)}`);
      }
    }
  };
  emit(root, 0);
  if (cut) {
    lines.push(`[listing cut at ${MAX_LIST_ENTRIES} entries; use glob or list_files with a narrower path]`);
  } else if (collapsed > 0) {
    lines.push(
      `[${plural(collapsed, 'directory', 'directories')} not expanded, to keep the listing within ` +
        `${MAX_LIST_ENTRIES} entries: call list_files with path set to one to see inside]`,
    );
  }
  return lines.join('\n');
}

/** Directories first, then files, each by name. */
const sorted = (node: Node): Node[] =>
  [...node.children.values()].sort((a, b) => (a.dir === b.dir ? (a.name < b.name ? -1 : 1) : a.dir ? -1 : 1));

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
