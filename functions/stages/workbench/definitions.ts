import { DEFAULT_HEAD_LIMIT } from './grep';
import { DEFAULT_READ_LINES, MAX_LINE_CHARS } from './read-file';

/**
 * The workspace tools as the model is told about them (Anthropic tool definitions: name,
 * description, JSON schema of the input). dispatch.ts validates the same inputs with zod.
 */

export interface ToolDefinition {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
}

const path = (what: string) => ({
  type: 'string',
  description: `Repository-relative path of ${what}, e.g. src/index.ts (no leading /, no ..)`,
});

const object = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

export const WORKBENCH_READ_TOOLS: ToolDefinition[] = [
  {
    name: 'read_file',
    description:
      'Read a text file of the repository, with your pending changes applied. Lines come numbered ' +
      `like cat -n ("     1\\tline"); the numbers are not part of the file. Shows ${DEFAULT_READ_LINES} lines ` +
      `from offset by default; lines over ${MAX_LINE_CHARS} characters are cut. When more follows, the last ` +
      'line says "[lines A-B of N; read on with offset=B+1]". Binary files and files holding secrets ' +
      '(.env, keys, credentials) are refused.',
    input_schema: object(
      {
        path: path('the file'),
        offset: { type: 'integer', minimum: 1, description: 'First line to show, 1-based (default 1)' },
        limit: {
          type: 'integer',
          minimum: 1,
          description: `Number of lines to show (default ${DEFAULT_READ_LINES})`,
        },
      },
      ['path'],
    ),
  },
  {
    name: 'grep',
    description:
      'Search file contents with a JavaScript regular expression, line by line, across the repository ' +
      'with your pending changes applied. A leading (?i) makes it case-insensitive. Results are sorted ' +
      'by path. output_mode "files_with_matches" (default) lists matching paths; "content" shows ' +
      '"path:line:text" for matching lines and "path-line-text" for context lines, with "--" between ' +
      'groups; "count" shows "path:count". Skips binary files, node_modules, .git, *.min.js and files ' +
      'holding secrets. Patterns that run too long are stopped with an error.',
    input_schema: object(
      {
        pattern: {
          type: 'string',
          description: 'JavaScript regular expression, e.g. "function\\s+\\w+" or "(?i)todo"',
        },
        path: {
          type: 'string',
          description: 'Directory or file to search in (default: the whole repository)',
        },
        glob: {
          type: 'string',
          description:
            'Only files matching this glob: "*.ts" or "*.{ts,tsx}" match file names, "src/**/*.ts" paths',
        },
        ignore_case: { type: 'boolean', description: 'Case-insensitive matching (default false)' },
        output_mode: {
          type: 'string',
          enum: ['files_with_matches', 'content', 'count'],
          description: 'What to show (default files_with_matches)',
        },
        context: {
          type: 'integer',
          minimum: 0,
          maximum: 20,
          description: 'Lines of context before and after each match (content mode only; default 0)',
        },
        head_limit: {
          type: 'integer',
          minimum: 1,
          description: `At most this many entries: files, or matching lines in content mode (default ${DEFAULT_HEAD_LIMIT})`,
        },
      },
      ['pattern'],
    ),
  },
  {
    name: 'glob',
    description:
      'Find files by path pattern, with your pending changes applied: "**/*.ts", "src/**/test_*.py", ' +
      '"*.{json,yml}". The pattern is matched against paths relative to `path` (default the root); a ' +
      'pattern without "/" matches only files directly in that directory. Answers sorted paths (at most 1,000).',
    input_schema: object(
      {
        pattern: { type: 'string', description: 'Glob: *, **, ?, [abc], {a,b}' },
        path: { type: 'string', description: 'Directory to search under (default: the repository root)' },
      },
      ['pattern'],
    ),
  },
  {
    name: 'list_files',
    description:
      'Show the files under a directory as an indented tree with sizes (directories with their file ' +
      'count and total size), with your pending changes applied and marked [new] or [modified]. Large ' +
      'trees are shown with deep directories collapsed: list one of them to see inside.',
    input_schema: object({
      path: { type: 'string', description: 'Directory to list (default: the repository root)' },
    }),
  },
  {
    name: 'diff',
    description:
      'Show your pending changes against the base version as a unified diff (@@ hunks), for every ' +
      'changed file or only those under `path`.',
    input_schema: object({
      path: { type: 'string', description: 'A file or directory (default: every pending change)' },
    }),
  },
];

export const WORKBENCH_WRITE_TOOLS: ToolDefinition[] = [
  {
    name: 'write_file',
    description:
      'Create a file, or replace a file’s whole content. Prefer edit_file for changing part of an ' +
      'existing file. The change stays pending in the workspace (see diff, revert_file).',
    input_schema: object(
      {
        path: path('the file'),
        content: { type: 'string', description: 'The complete new content of the file' },
      },
      ['path', 'content'],
    ),
  },
  {
    name: 'edit_file',
    description:
      'Replace old_text with new_text in a file. old_text must match the file exactly (indentation ' +
      'included; copy it from read_file without the line-number prefix) and occur exactly once, ' +
      'unless replace_all is true. If it occurs several times or not at all, the answer gives the ' +
      'count and line numbers, or the nearest similar lines.',
    input_schema: object(
      {
        path: path('the file'),
        old_text: { type: 'string', description: 'The exact text to replace (non-empty)' },
        new_text: { type: 'string', description: 'The replacement text (may be empty to delete old_text)' },
        replace_all: { type: 'boolean', description: 'Replace every occurrence (default false)' },
      },
      ['path', 'old_text', 'new_text'],
    ),
  },
  {
    name: 'delete_file',
    description: 'Delete a file (a pending change; revert_file brings it back).',
    input_schema: object({ path: path('the file') }, ['path']),
  },
  {
    name: 'revert_file',
    description:
      'Drop your pending change to a file, so it reads as in the base version again (a new file ' +
      'disappears, a deleted file comes back).',
    input_schema: object({ path: path('the file') }, ['path']),
  },
];

/** Runs in the sandbox, not the workbench: the stage hands it to the state machine (see sandbox.ts). */
export const RUN_TOOL: ToolDefinition = {
  name: 'run',
  description:
    'Run `bash -c command` in the sandbox, on a fresh copy of the workspace (the base with your ' +
    'pending changes) in the repository root: builds, tests, linters. Files the command changes are ' +
    'discarded (change files with the write tools). No network unless the repository allows it. ' +
    'The answer is `exit_code: N` and the combined output (its first 2,000 and last 8,000 ' +
    'characters); a timeout answers `exit_code: 124 (timed out after N s)`.',
  input_schema: object(
    {
      command: { type: 'string', description: 'The shell command, e.g. `npm test` or `node --test`' },
      timeout_seconds: {
        type: 'integer',
        description:
          'Time limit in seconds (default 120; the repository sets the maximum, 600 unless configured)',
      },
    },
    ['command'],
  ),
};

export const WORKBENCH_TOOLS: ToolDefinition[] = [...WORKBENCH_READ_TOOLS, ...WORKBENCH_WRITE_TOOLS];
