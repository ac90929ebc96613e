import { type CST, Composer, isMap, isScalar, isSeq, LineCounter, type Node, Parser } from 'yaml';
import { FactoryConfig, LIMITS } from './factory-config';

/** Reading `.github/factory.yml`: YAML safely composed, then checked against its schema. */

export interface ConfigProblem {
  /** `path.to.field` with `[i]` for list items; `(file)` for problems of the whole file. */
  path: string;
  message: string;
  line?: number;
  col?: number;
}

export type ReadResult = { ok: true; config: FactoryConfig } | { ok: false; errors: ConfigProblem[] };

const MAX_REPORTED_PROBLEMS = 100;

export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out || '(file)';
}

/** The YAML node (key node for a mapping entry) at `path`, for line and column. */
function nodeAt(root: unknown, path: readonly PropertyKey[]): Node | undefined {
  let node = root as Node | undefined;
  let located: Node | undefined = node;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) return located;
      located = (isScalar(pair.key) ? pair.key : undefined) ?? located;
      node = pair.value as Node | undefined;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment] as Node | undefined;
      located = node ?? located;
    } else {
      return located;
    }
  }
  return located;
}

/** True when CST collections nest deeper than `limit`. Iterative, linear in the number of tokens. */
function nestingDepthExceeds(tokens: readonly CST.Token[], limit: number): boolean {
  const stack: Array<{ token: unknown; depth: number }> = tokens.map((token) => ({ token, depth: 0 }));
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (!token || typeof token !== 'object') continue;
    const { items, value } = token as { items?: unknown; value?: unknown };
    if (Array.isArray(items)) {
      if (depth + 1 > limit) return true;
      for (const item of items as Array<{ key?: unknown; value?: unknown }>) {
        if (item?.key) stack.push({ token: item.key, depth: depth + 1 });
        if (item?.value) stack.push({ token: item.value, depth: depth + 1 });
      }
    } else if (value && typeof value === 'object') {
      stack.push({ token: value, depth });
    }
  }
  return false;
}

/**
 * Reads the text of a `.github/factory.yml` into its validated settings. Every problem (size, YAML
 * syntax with line and column, YAML bombs, multiple documents, wrong types, unknown keys, limits,
 * attempts to allow the factory config) comes back as an error with its field path.
 */
export function readFactoryConfig(source: string): ReadResult {
  const fail = (problems: ConfigProblem[]): ReadResult => ({
    ok: false,
    errors: problems.slice(0, MAX_REPORTED_PROBLEMS),
  });
  if (typeof source !== 'string') return fail([{ path: '(file)', message: 'must be text' }]);
  // Cheap check first: a string has at least as many UTF-8 bytes as UTF-16 code units.
  const bytes = source.length > LIMITS.fileBytes ? source.length : Buffer.byteLength(source, 'utf8');
  if (bytes > LIMITS.fileBytes) {
    return fail([
      {
        path: '(file)',
        message: `is too large (at least ${bytes} bytes); the limit is ${LIMITS.fileBytes} bytes (64 KiB)`,
      },
    ]);
  }
  const text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  const lineCounter = new LineCounter();
  // Parse to the CST first (an iterative parser), refuse deep nesting, and only then compose:
  // yaml's composer recurses once per level, and thousands of levels can kill the process.
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  if (nestingDepthExceeds(tokens, LIMITS.nestingDepth)) {
    return fail([
      { path: '(file)', message: `nests lists or mappings more than ${LIMITS.nestingDepth} levels deep` },
    ]);
  }
  // resolveKnownTags: false keeps YAML 1.1 extras (!!set, !!omap, !!binary, !!timestamp) out: they would
  // become Sets, Maps and Buffers that a schema for plain objects cannot see into.
  const composer = new Composer({
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
    version: '1.2',
    resolveKnownTags: false,
  });
  const documents = Array.from(composer.compose(tokens, false, text.length));
  if (documents.length > 1) {
    return fail([
      { path: '(file)', message: 'must hold exactly one YAML document (found more than one ---)' },
    ]);
  }
  const document = documents[0];
  let value: unknown = {};
  if (document) {
    const syntax = [...document.errors, ...document.warnings].map((problem): ConfigProblem => {
      const at = lineCounter.linePos(problem.pos[0]);
      const tag = /^Unresolved tag: (.+)$/.exec(problem.message)?.[1];
      const message = tag
        ? `YAML tags such as ${tag.replace('tag:yaml.org,2002:', '!!')} are not supported: write plain values`
        : problem.message;
      return { path: '(yaml)', message, line: at.line, col: at.col };
    });
    if (syntax.length > 0) return fail(syntax);
    const contents = document.contents;
    const isEmpty = contents === null || (isScalar(contents) && contents.value === null);
    if (!isEmpty) {
      if (!isMap(contents)) {
        const kind = isSeq(contents) ? 'a list' : 'a single value';
        return fail([{ path: '(file)', message: `must be a mapping of settings (key: value), not ${kind}` }]);
      }
      try {
        value = document.toJS({ maxAliasCount: LIMITS.aliasCount });
      } catch (error) {
        const message =
          error instanceof Error && /alias count/i.test(error.message)
            ? `uses too many YAML aliases (anchor expansion is limited to ${LIMITS.aliasCount}); write the values out`
            : error instanceof Error && /alias/i.test(error.message)
              ? 'has an unresolved YAML alias (an *alias without its &anchor)'
              : 'could not be read as YAML data';
        return fail([{ path: '(file)', message }]);
      }
    }
  }
  const parsed = FactoryConfig.safeParse(value);
  if (!parsed.success) {
    const problems: ConfigProblem[] = [];
    const seen = new Set<string>();
    for (const issue of parsed.error.issues) {
      const paths =
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => [...issue.path, key])
          : [issue.path as PropertyKey[]];
      for (const path of paths) {
        const message =
          issue.code === 'unrecognized_keys'
            ? 'is not a known setting (see docs/factory-yml.md)'
            : issue.message;
        const key = `${formatFieldPath(path)}\u0000${message}`;
        if (seen.has(key)) continue; // one field failing several checks with the same message
        seen.add(key);
        const node = document ? nodeAt(document.contents, path) : undefined;
        const at = node?.range ? lineCounter.linePos(node.range[0]) : undefined;
        problems.push({
          path: formatFieldPath(path),
          message,
          ...(at ? { line: at.line, col: at.col } : {}),
        });
      }
    }
    // File order reads best; problems without a position keep their relative order at the end.
    const position = (p: ConfigProblem) => (p.line ?? Number.MAX_SAFE_INTEGER) * 1e6 + (p.col ?? 0);
    return fail(problems.sort((a, b) => position(a) - position(b)));
  }
  return { ok: true, config: parsed.data };
}
