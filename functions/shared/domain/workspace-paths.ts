import { posix } from 'node:path';
import { pathProblem } from './paths';

/**
 * Paths as the model writes them, made into clean repository-relative POSIX paths: `./src/`,
 * `src//a.ts` and `src/../lib/b.ts` are accepted and normalised; absolute paths, drive letters,
 * `~`, backslashes, control characters and anything that normalises outside the root are refused.
 * The root itself is `''` (accepted only where a directory is meant).
 */

export type PathResult = { path: string } | { error: string };

export function repoPath(raw: string, options: { allowRoot?: boolean } = {}): PathResult {
  const shown = showPath(raw);
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw) || raw.startsWith('~')) {
    return {
      error: `path ${shown} must be relative to the repository root (no leading /, ~ or drive letter)`,
    };
  }
  let path = posix.normalize(raw.length === 0 ? '.' : raw);
  if (path === '..' || path.startsWith('../')) {
    return { error: `path ${shown} leads outside the repository ('..' escapes are refused)` };
  }
  path = path.replace(/\/+$/, '');
  if (path === '.' || path === '') {
    return options.allowRoot
      ? { path: '' }
      : { error: `path ${shown} names the repository root, not a file` };
  }
  const problem = pathProblem(path);
  if (problem) return { error: `path ${shown} ${problem}` };
  if (path.split('/').includes('.git')) {
    return { error: `path ${shown} is inside a .git directory, which is not part of the workspace` };
  }
  return { path };
}

// Shown escaped: invisible and bidi characters would make the message lie about the name.
const HIDDEN = /[\p{Default_Ignorable_Code_Point}\p{Bidi_Control}\u2028\u2029]/gu;

/** `raw` quoted for a message: at most 200 characters, invisible ones as `\u{…}` escapes. */
export function showPath(raw: string): string {
  const quoted = JSON.stringify(raw.length > 200 ? `${raw.slice(0, 200)}…` : raw);
  return quoted.replace(HIDDEN, (char) => `\\u{${(char.codePointAt(0) ?? 0).toString(16)}}`);
}

/** True when `path` is `dir` or lies below it (`dir` '' is the root). */
export const isUnder = (path: string, dir: string): boolean =>
  dir === '' || path === dir || path.startsWith(`${dir}/`);

const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

const ENV_EXAMPLES = new Set(['.env.example', '.env.sample', '.env.template']);
const SECRET_NAMES = new Set(['.npmrc', '.netrc', 'credentials']);
const SECRET_EXTENSIONS = ['.pem', '.key', '.p12', '.pfx'];
const SECRET_PREFIXES = ['id_rsa', 'id_dsa', 'id_ecdsa', 'id_ed25519'];

/**
 * Files that hold secrets by convention: `.env` and `.env.*` (but not `.env.example`, `.sample`,
 * `.template`), private keys and certificates (`*.pem`, `*.key`, `*.p12`, `*.pfx`, `id_rsa*` and
 * the other ssh key names), `.npmrc`, `.netrc`, and files named `credentials` (`.aws/credentials`).
 * Their names may be listed; their content is never read, searched, shown or changed.
 */
export function isSecretPath(path: string): boolean {
  const name = baseName(path).toLowerCase();
  if (name === '.env' || (name.startsWith('.env.') && !ENV_EXAMPLES.has(name))) return true;
  if (SECRET_NAMES.has(name)) return true;
  if (SECRET_EXTENSIONS.some((extension) => name.endsWith(extension))) return true;
  return SECRET_PREFIXES.some((prefix) => name.startsWith(prefix));
}

export const secretRefusal = (path: string): string =>
  `${path} holds secrets by convention (environment files, private keys, credentials): ` +
  'the workspace tools do not read, search, show or change it';

/**
 * Vendored and generated files grep skips unless the search is aimed inside them: dependency
 * trees, VCS metadata and minified bundles. Lockfiles are searched.
 */
export function isVendoredPath(path: string): boolean {
  const segments = path.split('/');
  if (segments.includes('node_modules') || segments.includes('.git')) return true;
  const name = segments.at(-1) ?? '';
  return /\.min\.(?:js|mjs|cjs|css)$/.test(name);
}
