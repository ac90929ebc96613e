import { lookalikeFold } from './lookalike';

/**
 * Repository paths and path globs, shared by the contract (what may change) and the boundary check
 * (what did change). Paths are repository-relative POSIX paths; anything that could escape the
 * repository root or be read differently by another tool is refused before any glob matching.
 *
 * Globs use picomatch's syntax (`**`, `*`, `?`, `[...]`, `{a,b}`; dotfiles included) but are matched
 * here, not by picomatch: picomatch compiles globs to backtracking regular expressions, and a
 * config author could write one that never finishes (`*a*a*a*a*ab` against a 255-character name
 * took 1.5 s; a dozen stars did not finish). This matcher is linear per segment pair
 * (O(glob length x path length) overall) and is cross-checked against picomatch in the tests.
 */

export const MAX_PATH_LENGTH = 1024;
export const MAX_GLOB_LENGTH = 200;
export const MAX_SEGMENT_LENGTH = 255;
const MAX_BRACE_ALTERNATIVES = 64;

// Control characters (NUL included) have no business in a path or a glob.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
// Invisible characters (zero-width, bidi controls, soft hyphen, variation selectors, ...): a name
// with one shows as another name; HFS+ even drops some (`.git\u200c` is `.git` on a Mac).
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Bidi_Control}]/u;
// Windows and NTFS: a name ending in dots or spaces loses them (`.git.` is `.git`), `name:stream`
// and `name::$DATA` address an alternate data stream of `name`, `GIT~1` is the 8.3 short name of a
// long one (`.git`). Git for Windows refuses these for `.git`; the factory refuses them everywhere.
const TRAILING_DOT_OR_SPACE = /[. ]$/;
const NTFS_STREAM = /:/;
const SHORT_NAME = /^[^~]{1,6}~[0-9]{1,6}(?:\.[^.]{0,3})?$/;

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
  if (segments.some((segment) => segment.length > MAX_SEGMENT_LENGTH)) {
    return `must not have a file or directory name longer than ${MAX_SEGMENT_LENGTH} characters`;
  }
  return disguiseProblem(segments);
}

/**
 * Why a name is not what it shows, or is another name on some file system (`.git` in disguise
 * included), or undefined. Messages never quote the name: it may be hostile.
 */
function disguiseProblem(segments: readonly string[]): string | undefined {
  for (const segment of segments) {
    const dotGit = (name: string) => name !== '.git' && lookalikeFold(name) === '.git';
    if (dotGit(segment)) {
      return 'names .git in disguise (invisible or look-alike characters, or another case): git internals are never part of a change';
    }
    if (INVISIBLE.test(segment)) {
      return 'must not contain invisible characters (zero-width, bidi controls or other default-ignorable code points): the name would not be what it shows';
    }
    if (TRAILING_DOT_OR_SPACE.test(segment)) {
      const windowsName = segment.replace(/[. ]+$/, '');
      return windowsName === '.git' || dotGit(windowsName)
        ? 'names .git in disguise (trailing dots or spaces, which Windows drops)'
        : 'must not have a name ending in a dot or a space: Windows drops them, so it is another name there';
    }
    if (NTFS_STREAM.test(segment)) {
      const file = segment.slice(0, segment.indexOf(':'));
      return file === '.git' || dotGit(file)
        ? 'names .git in disguise (an NTFS alternate data stream such as .git::$INDEX_ALLOCATION)'
        : "must not contain ':': on NTFS it names an alternate data stream of another file (name::$DATA)";
    }
    if (SHORT_NAME.test(segment)) {
      return /^git~[0-9]+$/i.test(segment)
        ? 'names .git in disguise (GIT~1 is its Windows 8.3 short name)'
        : 'must not look like a Windows 8.3 short name (NAME~1): there it stands for another, longer name';
    }
  }
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
  // Anywhere, also inside braces (`{..,src}/x`) and ranges (`{1..9}`): never a way out of the repo.
  if (glob.includes('..')) return "must not contain '..' (path traversal)";
  if (glob.startsWith('!')) return "negation is not supported: list the path under 'forbidden_paths' instead";
  if (/[@!+*?]\(/.test(glob)) return 'extglobs such as @(a|b) or *(x) are not supported; use {a,b}';
  if (glob.startsWith('./') || glob.includes('/./')) return "must not contain './' segments";
  if (glob.includes('//') || glob.endsWith('/')) {
    return "must not contain empty segments (for a directory write 'dir/**')";
  }
  try {
    compileGlob(glob, false);
  } catch (error) {
    return error instanceof GlobSyntaxError ? error.message : 'is not a valid glob';
  }
  return undefined;
}

class GlobSyntaxError extends Error {}

// ---------------------------------------------------------------------------------------------
// The matcher
// ---------------------------------------------------------------------------------------------

type CharToken =
  | { kind: 'literal'; char: string }
  | { kind: 'any' }
  | { kind: 'class'; negate: boolean; ranges: Array<[string, string]> };
type SegmentToken = CharToken | { kind: 'star' };
type GlobSegment = { kind: 'globstar' } | { kind: 'tokens'; tokens: SegmentToken[] };

/** The brace alternatives of a valid glob (`{a,b}/x` → `a/x`, `b/x`); [] for an invalid glob. */
export function globAlternatives(glob: string): string[] {
  if (globProblem(glob)) return [];
  return expandBraces(glob);
}

/** `{a,b}` alternatives expanded (nested braces too), bounded in count. */
function expandBraces(glob: string): string[] {
  const open = glob.indexOf('{');
  if (open < 0) {
    if (glob.includes('}')) throw new GlobSyntaxError("has a '}' without its '{'");
    return [glob];
  }
  let depth = 0;
  let close = -1;
  const commas: number[] = [];
  for (let i = open; i < glob.length; i++) {
    const char = glob[i];
    if (char === '{') depth++;
    else if (char === '}' && --depth === 0) {
      close = i;
      break;
    } else if (char === ',' && depth === 1) commas.push(i);
  }
  if (close < 0) throw new GlobSyntaxError("has a '{' without its '}'");
  if (glob.slice(0, open).includes('}')) throw new GlobSyntaxError("has a '}' without its '{'");
  const bounds = [open, ...commas, close];
  const options = bounds.slice(1).map((end, i) => glob.slice((bounds[i] ?? 0) + 1, end));
  const rests = expandBraces(glob.slice(close + 1));
  const out: string[] = [];
  for (const option of options) {
    for (const expanded of expandBraces(`${glob.slice(0, open)}${option}`)) {
      for (const rest of rests) {
        out.push(`${expanded}${rest}`);
        if (out.length > MAX_BRACE_ALTERNATIVES) {
          throw new GlobSyntaxError(`expands to more than ${MAX_BRACE_ALTERNATIVES} alternatives`);
        }
      }
    }
  }
  return out;
}

function tokenizeSegment(segment: string): SegmentToken[] {
  const tokens: SegmentToken[] = [];
  for (let i = 0; i < segment.length; i++) {
    const char = segment[i] as string;
    if (char === '*') {
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (char === '?') {
      tokens.push({ kind: 'any' });
    } else if (char === '[') {
      let j = i + 1;
      const negate = segment[j] === '!' || segment[j] === '^';
      if (negate) j++;
      const ranges: Array<[string, string]> = [];
      let first = true;
      for (; j < segment.length && (segment[j] !== ']' || first); j++) {
        first = false;
        const low = segment[j] as string;
        if (low === '[' && segment[j + 1] === ':')
          throw new GlobSyntaxError('POSIX classes such as [[:alpha:]] are not supported');
        if (segment[j + 1] === '-' && segment[j + 2] !== undefined && segment[j + 2] !== ']') {
          ranges.push([low, segment[j + 2] as string]);
          j += 2;
        } else {
          ranges.push([low, low]);
        }
      }
      if (j >= segment.length) throw new GlobSyntaxError("has a '[' without its ']'");
      tokens.push({ kind: 'class', negate, ranges });
      i = j;
    } else {
      tokens.push({ kind: 'literal', char });
    }
  }
  return tokens;
}

function compileGlob(glob: string, nocase: boolean): GlobSegment[][] {
  return expandBraces(nocase ? glob.toLowerCase() : glob).map((alternative) =>
    alternative
      .split('/')
      .map(
        (segment): GlobSegment =>
          segment === '**' ? { kind: 'globstar' } : { kind: 'tokens', tokens: tokenizeSegment(segment) },
      ),
  );
}

const matchesChar = (token: CharToken, char: string): boolean => {
  if (token.kind === 'literal') return token.char === char;
  if (token.kind === 'any') return true;
  const inside = token.ranges.some(([low, high]) => char >= low && char <= high);
  return inside !== token.negate;
};

/** Wildcard match of one name: greedy with a single backtrack point, O(name x tokens). */
function matchSegment(tokens: readonly SegmentToken[], name: string): boolean {
  let ti = 0;
  let si = 0;
  let starTi = -1;
  let starSi = 0;
  while (si < name.length) {
    const token = tokens[ti];
    if (token && token.kind !== 'star' && matchesChar(token, name[si] as string)) {
      ti++;
      si++;
    } else if (token?.kind === 'star') {
      starTi = ti++;
      starSi = si;
    } else if (starTi >= 0) {
      ti = starTi + 1;
      si = ++starSi;
    } else {
      return false;
    }
  }
  while (tokens[ti]?.kind === 'star') ti++;
  return ti === tokens.length;
}

/** Segments against names, `**` spanning zero or more names: dynamic programming, no backtracking. */
function matchSegments(glob: readonly GlobSegment[], names: readonly string[]): boolean {
  // reach[p]: glob[g..] matches names[p..], computed from the last glob segment backwards.
  let next = names.map(() => false).concat(true);
  for (let g = glob.length - 1; g >= 0; g--) {
    const segment = glob[g] as GlobSegment;
    const current = new Array<boolean>(names.length + 1).fill(false);
    for (let p = names.length; p >= 0; p--) {
      if (segment.kind === 'globstar') {
        current[p] = (next[p] ?? false) || (p < names.length && (current[p + 1] ?? false));
      } else {
        current[p] =
          p < names.length && (next[p + 1] ?? false) && matchSegment(segment.tokens, names[p] as string);
      }
    }
    next = current;
  }
  return next[0] ?? false;
}

type Matcher = (path: string) => boolean;
const MATCHER_CACHE_LIMIT = 2000;
const matcherCache = new Map<string, Matcher>();

/** A cached matcher. `nocase` for forbidding rules, so `.GitHub/Workflows/x.yml` is refused too. */
function matcherOf(glob: string, nocase: boolean): Matcher {
  const key = `${nocase ? 'i' : 's'}:${glob}`;
  let matcher = matcherCache.get(key);
  if (!matcher) {
    if (matcherCache.size >= MATCHER_CACHE_LIMIT) matcherCache.clear();
    let alternatives: GlobSegment[][];
    try {
      alternatives = compileGlob(glob, nocase);
    } catch {
      alternatives = []; // an invalid glob matches nothing (configs are validated before this)
    }
    matcher = (path) => {
      const names = (nocase ? path.toLowerCase() : path).split('/');
      return alternatives.some((alternative) => matchSegments(alternative, names));
    };
    matcherCache.set(key, matcher);
  }
  return matcher;
}

/** True when `glob` matches `path` (case-insensitively with `nocase`). */
export const globMatches = (glob: string, path: string, nocase = false): boolean =>
  matcherOf(glob, nocase)(path);

/** True when `path` matches one of `globs`. Case-sensitive: use for rules that grant. */
export function matchesAny(path: string, globs: readonly string[]): boolean {
  return globs.some((glob) => matcherOf(glob, false)(path));
}

/** The first of `globs` matching `path` case-insensitively: use for rules that forbid. */
export function firstMatchNoCase(path: string, globs: readonly string[]): string | undefined {
  return globs.find((glob) => matcherOf(glob, true)(path));
}
