import { type Dirent, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isSecretPath } from '../shared/domain/workspace-paths';

/**
 * Keeps the registry tokens out of the cached setup output (decision 0005): removes, from what
 * the setup made, every file that holds secrets by convention (`.npmrc`, `.netrc`, `.env`, keys)
 * and every file whose bytes contain one of the tokens. Links are not followed. Answers the
 * removed paths, sorted, for a warning that names files, never values.
 */
export function scrubSecrets(root: string, secrets: readonly string[]): string[] {
  const needles = secrets.filter((secret) => secret.length >= 4).map((secret) => Buffer.from(secret));
  const removed: string[] = [];
  const walk = (dir: string, prefix: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full, path);
      else if (entry.isFile() && (isSecretPath(path) || holdsAny(full, needles))) {
        rmSync(full, { force: true });
        removed.push(path);
      } else if (entry.isSymbolicLink() && isSecretPath(path)) {
        rmSync(full, { force: true });
        removed.push(path);
      }
    }
  };
  walk(root, '');
  return removed.sort();
}

function holdsAny(file: string, needles: readonly Buffer[]): boolean {
  if (needles.length === 0) return false;
  const bytes = readFileSync(file);
  return needles.some((needle) => bytes.includes(needle));
}
