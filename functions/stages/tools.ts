import { posix } from 'node:path';
import type { GitHub, RepoRef, WorkspaceStore } from '../shared/ports';

/**
 * The agents' tools. Reads see the repository at the run's base SHA through the GitHub API with
 * the run's workspace overlay on top; writes change only the overlay (publish turns it into a
 * commit later). Outputs are bounded: large results are truncated with a marker.
 */

export const MAX_TOOL_OUTPUT_CHARS = 16_000;
export const MAX_FILE_WRITE_CHARS = 200_000;
const MAX_SEARCH_FILES = 200;
const MAX_SEARCH_FILE_CHARS = 100_000;
const MAX_SEARCH_HITS = 100;

export interface ToolDefinition {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
}

const pathProp = { type: 'string', description: 'Repository-relative path, e.g. src/index.js' };

export const READ_TOOLS: ToolDefinition[] = [
  {
    name: 'list_files',
    description: 'List the files of the repository (with your pending changes applied).',
    input_schema: {
      type: 'object',
      properties: { path_prefix: { type: 'string', description: 'Only paths starting with this prefix' } },
    },
  },
  {
    name: 'read_file',
    description: 'Read a text file of the repository (with your pending changes applied).',
    input_schema: { type: 'object', properties: { path: pathProp }, required: ['path'] },
  },
  {
    name: 'search',
    description: 'Find lines containing a literal string (case-insensitive) in the repository files.',
    input_schema: {
      type: 'object',
      properties: { query: { type: 'string' }, path_prefix: { type: 'string' } },
      required: ['query'],
    },
  },
];

export const WRITE_TOOLS: ToolDefinition[] = [
  {
    name: 'write_file',
    description: 'Create or replace a file with the given full content.',
    input_schema: {
      type: 'object',
      properties: { path: pathProp, content: { type: 'string' } },
      required: ['path', 'content'],
    },
  },
  {
    name: 'edit_file',
    description: 'Replace exactly one occurrence of old_text with new_text in a file.',
    input_schema: {
      type: 'object',
      properties: { path: pathProp, old_text: { type: 'string' }, new_text: { type: 'string' } },
      required: ['path', 'old_text', 'new_text'],
    },
  },
  {
    name: 'delete_file',
    description: 'Delete a file.',
    input_schema: { type: 'object', properties: { path: pathProp }, required: ['path'] },
  },
];

/** Outputs larger than the limit keep their head and say how much was cut. */
export function truncate(text: string, limit = MAX_TOOL_OUTPUT_CHARS): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, limit)}\n[... truncated ${text.length - limit} characters ...]`;
}

/**
 * A repository-relative path, or an error message. Model text never reaches outside the tree:
 * no absolute paths, no `..`, no backslashes or control characters, no `.git/`.
 */
export function normalizeRepoPath(raw: unknown): { path: string } | { error: string } {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 400)
    return { error: 'path must be 1-400 characters' };
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\\\u0000-\u001f]/.test(raw)) return { error: 'path contains a backslash or control character' };
  if (raw.startsWith('/')) return { error: 'path must be relative to the repository root' };
  const path = posix.normalize(raw).replace(/^\.\//, '');
  if (path === '.' || path.startsWith('../') || path === '..' || path.split('/').includes('..')) {
    return { error: 'path must stay inside the repository' };
  }
  if (path === '.git' || path.startsWith('.git/'))
    return { error: 'the .git directory is not part of the tree' };
  return { path };
}

export interface ToolContext {
  github: GitHub;
  store: WorkspaceStore;
  repo: RepoRef;
  runId: string;
  baseSha: string;
  now: () => string;
}

export interface ToolOutcome {
  output: string;
  isError: boolean;
}

const ok = (output: string): ToolOutcome => ({ output: truncate(output), isError: false });
const err = (output: string): ToolOutcome => ({ output, isError: true });

/** The repository view: base tree paths with the overlay's additions and deletions applied. */
async function listPaths(ctx: ToolContext): Promise<string[]> {
  const [base, overlay] = await Promise.all([
    ctx.github.listFiles(ctx.repo, ctx.baseSha),
    ctx.store.listWorkspaceFiles(ctx.runId),
  ]);
  const paths = new Set(base);
  for (const file of overlay) {
    if (file.deleted) paths.delete(file.path);
    else paths.add(file.path);
  }
  return [...paths].sort();
}

/** A file's current text (overlay first), or undefined when absent or deleted. */
export async function readText(ctx: ToolContext, path: string): Promise<string | undefined> {
  const pending = await ctx.store.getWorkspaceFile(ctx.runId, path);
  if (pending) return pending.deleted ? undefined : pending.content;
  return (await ctx.github.getFile(ctx.repo, path, ctx.baseSha))?.content;
}

export async function executeTool(
  ctx: ToolContext,
  name: string,
  input: Record<string, unknown>,
  allowWrites: boolean,
): Promise<ToolOutcome> {
  switch (name) {
    case 'list_files': {
      const prefix = typeof input.path_prefix === 'string' ? input.path_prefix : '';
      const paths = (await listPaths(ctx)).filter((p) => p.startsWith(prefix));
      return ok(paths.length > 0 ? paths.join('\n') : '(no files)');
    }
    case 'read_file': {
      const p = normalizeRepoPath(input.path);
      if ('error' in p) return err(p.error);
      const text = await readText(ctx, p.path);
      return text === undefined ? err(`${p.path}: no such file`) : ok(text);
    }
    case 'search': {
      const query = typeof input.query === 'string' ? input.query.toLowerCase() : '';
      if (query.length === 0 || query.length > 200) return err('query must be 1-200 characters');
      const prefix = typeof input.path_prefix === 'string' ? input.path_prefix : '';
      const paths = (await listPaths(ctx)).filter((p) => p.startsWith(prefix)).slice(0, MAX_SEARCH_FILES);
      const hits: string[] = [];
      for (const path of paths) {
        if (hits.length >= MAX_SEARCH_HITS) break;
        const text = await readText(ctx, path);
        if (text === undefined || text.length > MAX_SEARCH_FILE_CHARS) continue;
        text.split('\n').forEach((line, i) => {
          if (hits.length < MAX_SEARCH_HITS && line.toLowerCase().includes(query)) {
            hits.push(`${path}:${i + 1}: ${line.slice(0, 300)}`);
          }
        });
      }
      return ok(hits.length > 0 ? hits.join('\n') : 'no matches');
    }
    case 'write_file':
    case 'edit_file':
    case 'delete_file': {
      if (!allowWrites) return err(`${name} is not available in this stage`);
      const p = normalizeRepoPath(input.path);
      if ('error' in p) return err(p.error);
      if (name === 'delete_file') {
        if ((await readText(ctx, p.path)) === undefined) return err(`${p.path}: no such file`);
        await ctx.store.putWorkspaceFile(ctx.runId, { path: p.path, deleted: true, updatedAt: ctx.now() });
        return ok(`deleted ${p.path}`);
      }
      let content: string;
      if (name === 'write_file') {
        if (typeof input.content !== 'string') return err('content must be a string');
        content = input.content;
      } else {
        const { old_text: oldText, new_text: newText } = input;
        if (typeof oldText !== 'string' || typeof newText !== 'string' || oldText.length === 0) {
          return err('old_text (non-empty) and new_text must be strings');
        }
        const current = await readText(ctx, p.path);
        if (current === undefined) return err(`${p.path}: no such file`);
        const at = current.indexOf(oldText);
        if (at < 0) return err(`${p.path}: old_text not found`);
        if (current.indexOf(oldText, at + 1) >= 0) return err(`${p.path}: old_text occurs more than once`);
        content = current.slice(0, at) + newText + current.slice(at + oldText.length);
      }
      if (content.length > MAX_FILE_WRITE_CHARS)
        return err(`${p.path}: content over ${MAX_FILE_WRITE_CHARS} characters`);
      await ctx.store.putWorkspaceFile(ctx.runId, {
        path: p.path,
        content,
        deleted: false,
        updatedAt: ctx.now(),
      });
      return ok(`${name === 'write_file' ? 'wrote' : 'edited'} ${p.path} (${content.length} characters)`);
    }
    default:
      return err(`unknown tool ${name}`);
  }
}
