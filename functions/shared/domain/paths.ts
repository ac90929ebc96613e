import picomatch from 'picomatch';

/**
 * Repository paths and path globs, shared by the contract (what may change) and the boundary check
 * (what did change). Paths are repository-relative POSIX paths; anything that could escape the
 * repository root or be read differently by another tool is refused before any glob matching.
 */

export const MAX_PATH_LENGTH = 1024;
export const MAX_GLOB_LENGTH = 200;

// Control characters (NUL included) have no business in a path or a glob.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Why `path` is not a clean repository-relative path, or undefined when it is. */
export function pathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string') return 'must be a string';
  if (path.length === 0) return 'must not be empty';
  if (path.length > MAX_PATH_LENGTH) return `must be at most ${MAX_PATH_LENGTH} characters`;
  if (CONTROL_CHARS.test(path)) return 'must not contain control characters (NUL, newlines, ...)';
  if (path.includes('\\')) return 'must use forward slashes, not backslashes';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.startsWith('~')) {
    return 'must be relative to the repository root (no leading /, ~ or drive letter)';
  }
  const segments = path.split('/');
  if (segments.includes('..')) return "must not contain '..' (path traversal)";
  if (segments.includes('.')) return "must not contain '.' segments";
  if (segments.includes('')) return 'must not contain empty segments (// or a trailing /)';
  return undefined;
}

/** Why `glob` is not an acceptable repository path glob, or undefined when it is. */
export function globProblem(glob: unknown): string | undefined {
  if (typeof glob !== 'string') return 'must be a string';
  if (glob.length === 0) return 'must not be empty';
  if (glob.length > MAX_GLOB_LENGTH) return `must be at most ${MAX_GLOB_LENGTH} characters`;
  if (CONTROL_CHARS.test(glob)) return 'must not contain control characters (NUL, newlines, ...)';
  if (glob.includes('\\')) return 'must use forward slashes, not backslashes (no escapes)';
  if (glob.startsWith('/') || /^[A-Za-z]:/.test(glob) || glob.startsWith('~')) {
    return 'must be relative to the repository root (no leading /, ~ or drive letter)';
  }
  // '..' also counts inside brace alternatives and extglobs: `{..,src}/x`, `@(..)/x`.
  if (/(^|[/{,(|])\.\.($|[/},)|])/.test(glob)) return "must not contain '..' (path traversal)";
  if (glob.startsWith('!')) return "negation is not supported: list the path under 'forbidden_paths' instead";
  if (glob.startsWith('./') || glob.includes('/./')) return "must not contain './' segments";
  if (glob.includes('//') || glob.endsWith('/')) {
    return "must not contain empty segments (for a directory write 'dir/**')";
  }
  try {
    picomatch.makeRe(glob, { dot: true });
  } catch {
    return 'is not a valid glob';
  }
  return undefined;
}

type Matcher = (path: string) => boolean;
const MATCHER_CACHE_LIMIT = 2000;
const matcherCache = new Map<string, Matcher>();

/**
 * A cached picomatch matcher. `dot: true` so `**` also covers dotfiles such as `.github/`;
 * `nocase` for forbidding rules, so `.GitHub/Workflows/x.yml` is refused on case-insensitive
 * checkouts as well.
 */
function matcherOf(glob: string, nocase: boolean): Matcher {
  const key = `${nocase ? 'i' : 's'}:${glob}`;
  let matcher = matcherCache.get(key);
  if (!matcher) {
    if (matcherCache.size >= MATCHER_CACHE_LIMIT) matcherCache.clear();
    matcher = picomatch(glob, { dot: true, nocase });
    matcherCache.set(key, matcher);
  }
  return matcher;
}

/** True when `path` matches one of `globs`. Case-sensitive: use for rules that grant. */
export function matchesAny(path: string, globs: readonly string[]): boolean {
  return globs.some((glob) => matcherOf(glob, false)(path));
}

/** The first of `globs` matching `path` case-insensitively: use for rules that forbid. */
export function firstMatchNoCase(path: string, globs: readonly string[]): string | undefined {
  return globs.find((glob) => matcherOf(glob, true)(path));
}
