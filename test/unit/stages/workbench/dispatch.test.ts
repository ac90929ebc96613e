import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isErrorText,
  MAX_OUTPUT_CHARS,
  MemoryOverlay,
  runWorkbenchTool,
  WORKBENCH_READ_TOOLS,
  WORKBENCH_TOOL_NAMES,
  WORKBENCH_TOOLS,
  WORKBENCH_WRITE_TOOLS,
  Workspace,
} from '../../../../functions/stages/workbench';
import { writeTree } from '../../../support/workbench-tree';

let root: string;
let ws: Workspace;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'wb-dispatch-'));
  await writeTree(root, {
    'src/a.ts': 'export const a = 1;\n',
    'many.txt': `${Array.from({ length: 3000 }, (_, i) => `match number ${i} ${'pad '.repeat(20)}`).join('\n')}\n`,
  });
  ws = Workspace.fromDirectory(root, new MemoryOverlay());
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('tool definitions', () => {
  it('define exactly the dispatched tools, each with a description and an object schema', () => {
    expect(WORKBENCH_TOOLS.map((tool) => tool.name).sort()).toEqual([...WORKBENCH_TOOL_NAMES].sort());
    expect(WORKBENCH_READ_TOOLS.map((tool) => tool.name)).toEqual([
      'read_file',
      'grep',
      'glob',
      'list_files',
      'diff',
    ]);
    expect(WORKBENCH_WRITE_TOOLS.map((tool) => tool.name)).toEqual([
      'write_file',
      'edit_file',
      'delete_file',
      'revert_file',
    ]);
    for (const tool of WORKBENCH_TOOLS) {
      expect(tool.description.length).toBeGreaterThan(40);
      expect(tool.input_schema).toMatchObject({ type: 'object', additionalProperties: false });
    }
  });

  it('name the inputs the dispatcher accepts', async () => {
    const properties = (name: string) =>
      Object.keys(
        (WORKBENCH_TOOLS.find((tool) => tool.name === name)?.input_schema.properties ?? {}) as object,
      );
    expect(properties('read_file')).toEqual(['path', 'offset', 'limit']);
    expect(properties('grep')).toEqual([
      'pattern',
      'path',
      'glob',
      'ignore_case',
      'output_mode',
      'context',
      'head_limit',
    ]);
    expect(properties('glob')).toEqual(['pattern', 'path']);
    expect(properties('list_files')).toEqual(['path']);
    expect(properties('edit_file')).toEqual(['path', 'old_text', 'new_text', 'replace_all']);
    expect(properties('diff')).toEqual(['path']);
    // Every property of every definition is accepted by the dispatcher's schema (no "Unrecognized key").
    for (const tool of WORKBENCH_TOOLS) {
      const input = Object.fromEntries(properties(tool.name).map((key) => [key, 'x']));
      const out = await runWorkbenchTool(ws, tool.name, input);
      expect(out).not.toContain('Unrecognized key');
    }
  });
});

describe('runWorkbenchTool', () => {
  it('runs a tool and answers its text', async () => {
    expect(await runWorkbenchTool(ws, 'read_file', { path: 'src/a.ts' })).toBe('     1\texport const a = 1;');
    expect(await runWorkbenchTool(ws, 'grep', { pattern: 'export', output_mode: 'content' })).toBe(
      'src/a.ts:1:export const a = 1;',
    );
  });

  it.each([
    ['read_file', {}, 'invalid input for read_file: path:'],
    ['read_file', { path: 7 }, 'invalid input for read_file: path:'],
    ['read_file', { path: 'src/a.ts', offset: 0 }, 'offset:'],
    ['read_file', { path: 'src/a.ts', offset: 1.5 }, 'offset:'],
    ['read_file', { file_path: 'src/a.ts' }, 'Unrecognized key: "file_path"'],
    ['grep', { pattern: '' }, 'pattern:'],
    ['grep', { pattern: 'x', output_mode: 'lines' }, 'output_mode:'],
    ['grep', { pattern: 'x', context: 99 }, 'context:'],
    ['edit_file', { path: 'src/a.ts', old_text: 'a' }, 'new_text:'],
    ['write_file', null, 'invalid input for write_file'],
    ['glob', 'not an object', 'invalid input for glob'],
    ['rm_rf', {}, 'unknown tool "rm_rf"'],
  ])('answers %s %j with an error text, never an exception', async (name, input, text) => {
    const out = await runWorkbenchTool(ws, name, input);
    expect(isErrorText(out)).toBe(true);
    expect(out).toContain(text);
  });

  it('accepts numbers and booleans sent as strings', async () => {
    expect(await runWorkbenchTool(ws, 'read_file', { path: 'many.txt', offset: '3000', limit: '1' })).toMatch(
      /^ {2}3000\tmatch number 2999 /,
    );
    expect(await runWorkbenchTool(ws, 'grep', { pattern: 'EXPORT', ignore_case: 'true' })).toBe('src/a.ts');
  });

  it('refuses write tools in a read-only stage', async () => {
    const out = await runWorkbenchTool(ws, 'write_file', { path: 'x', content: 'y' }, { allowWrites: false });
    expect(out).toBe('Error: write_file is not available in this stage');
    expect(await runWorkbenchTool(ws, 'read_file', { path: 'src/a.ts' }, { allowWrites: false })).not.toMatch(
      /^Error/,
    );
  });

  it('bounds every answer to 30,000 characters with a marker', async () => {
    const out = await runWorkbenchTool(ws, 'grep', {
      pattern: 'match',
      output_mode: 'content',
      head_limit: 3000,
    });
    expect(out.length).toBeLessThanOrEqual(MAX_OUTPUT_CHARS + 200);
    expect(out).toMatch(/\[output truncated: \d+ more characters not shown; narrow the request\]$/);
  });

  it('answers parallel calls consistently', async () => {
    const calls = Array.from({ length: 10 }, (_, i) =>
      runWorkbenchTool(ws, 'write_file', { path: `gen/f${i}.ts`, content: `export const f${i} = ${i};\n` }),
    );
    const reads = Array.from({ length: 10 }, () =>
      runWorkbenchTool(ws, 'grep', { pattern: 'export const a' }),
    );
    const answers = await Promise.all([...calls, ...reads]);
    expect(answers.slice(0, 10).every((answer) => answer.startsWith('created gen/'))).toBe(true);
    expect(answers.slice(10).every((answer) => answer === 'src/a.ts')).toBe(true);
    expect(await runWorkbenchTool(ws, 'glob', { pattern: 'gen/*.ts' })).toBe(
      Array.from({ length: 10 }, (_, i) => `gen/f${i}.ts`).join('\n'),
    );
  });
});
