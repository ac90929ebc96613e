import { cpSync, type Dirent, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * What a setup command produced (`node_modules`, `.venv`, `target/`): the paths of the workspace
 * copy that it did not hold before the command, copied out before the copy is removed. Walks
 * into folders that existed before only; links are copied as links, never followed.
 */

/** Every path below `root` (files, folders and links), relative, without following links. */
export function pathsBelow(root: string): Set<string> {
  const paths = new Set<string>();
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      paths.add(path);
      if (entry.isDirectory()) walk(join(dir, entry.name), path);
    }
  };
  walk(root, '');
  return paths;
}

/** Copies the paths created since `before` from `root` into `into`; answers them, sorted. */
export function collectCreated(root: string, before: ReadonlySet<string>, into: string): string[] {
  const created: string[] = [];
  const walk = (dir: string, prefix: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (!before.has(path)) {
        mkdirSync(dirname(join(into, path)), { recursive: true });
        cpSync(join(dir, entry.name), join(into, path), {
          recursive: true,
          verbatimSymlinks: true,
          force: true,
        });
        created.push(path);
      } else if (entry.isDirectory()) {
        walk(join(dir, entry.name), path);
      }
    }
  };
  walk(root, '');
  return created.sort();
}
