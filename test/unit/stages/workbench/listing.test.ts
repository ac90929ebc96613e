import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryOverlay } from '../../../../functions/stages/workbench/overlay';
import { Workspace } from '../../../../functions/stages/workbench/workspace';
import { writeTree } from '../../../support/workbench-tree';

let root: string;
let ws: Workspace;
const overlay = new MemoryOverlay();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'wb-list-'));
  const wide: Record<string, string> = {};
  for (let i = 0; i < 1200; i++) wide[`wide/f${String(i).padStart(4, '0')}.txt`] = 'x';
  for (let i = 0; i < 30; i++) wide[`deep/d${String(i).padStart(2, '0')}/sub/file${i}.ts`] = 'y'.repeat(10);
  await writeTree(root, {
    'README.md': '# hi\n',
    'src/index.ts': 'export {};\n',
    'src/util/a.ts': 'a'.repeat(2048),
    'src/util/b.test.ts': 'b',
    '.github/workflows/ci.yml': 'on: push\n',
    '.env': 'SECRET=1\n',
    ...wide,
  });
  ws = Workspace.fromDirectory(root, overlay);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('glob', () => {
  it('matches paths relative to path, sorted, dotfiles included', async () => {
    expect(await ws.glob({ pattern: '**/*.ts', path: 'src' })).toBe(
      'src/index.ts\nsrc/util/a.ts\nsrc/util/b.test.ts',
    );
    expect(await ws.glob({ pattern: 'src/**/*.{ts,md}' })).toBe(
      'src/index.ts\nsrc/util/a.ts\nsrc/util/b.test.ts',
    );
    expect(await ws.glob({ pattern: '**/*.yml' })).toBe('.github/workflows/ci.yml');
    expect(await ws.glob({ pattern: '*.md' })).toBe('README.md');
    expect(await ws.glob({ pattern: '**/b.*.ts' })).toBe('src/util/b.test.ts');
  });

  it('explains that a pattern without a slash stays in one directory', async () => {
    const out = await ws.glob({ pattern: '*.ts' });
    expect(out).toContain('No files match *.ts');
    expect(out).toContain('**/*.ts matches at any depth');
  });

  it('caps at 1,000 paths with a note', async () => {
    const out = (await ws.glob({ pattern: 'wide/*' })).split('\n');
    expect(out).toHaveLength(1001);
    expect(out[0]).toBe('wide/f0000.txt');
    expect(out[999]).toBe('wide/f0999.txt');
    expect(out[1000]).toBe(
      '[showing 1000 of 1200 matching paths; 200 more left out: narrow the pattern or path]',
    );
  });

  it('refuses escapes and bad globs, and answers in linear time on a hostile glob', async () => {
    expect(await ws.glob({ pattern: '../**' })).toMatch(/^Error: pattern/);
    expect(await ws.glob({ pattern: '**', path: '/etc' })).toMatch(/^Error: path/);
    expect(await ws.glob({ pattern: '**', path: 'README.md' })).toBe(
      'Error: README.md is a file, not a directory',
    );
    const started = performance.now();
    await ws.glob({ pattern: `${'*a'.repeat(12)}b` });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('sees pending changes', async () => {
    await overlay.put({ path: 'src/new.ts', deleted: false, content: '' });
    await overlay.put({ path: 'src/index.ts', deleted: true });
    try {
      expect(await ws.glob({ pattern: 'src/*.ts' })).toBe('src/new.ts');
    } finally {
      await overlay.delete('src/new.ts');
      await overlay.delete('src/index.ts');
    }
  });
});

describe('list_files', () => {
  it('shows a directory as a tree with sizes, directories first, pending changes marked', async () => {
    await overlay.put({ path: 'src/new.ts', deleted: false, content: 'new\n' });
    await overlay.put({ path: 'src/index.ts', deleted: false, content: 'export const a = 1;\n' });
    await overlay.put({ path: 'src/util/b.test.ts', deleted: true });
    try {
      expect(await ws.listFiles({ path: 'src' })).toBe(
        [
          'src/  (3 files, 2.0 KB)',
          '  util/  (1 file, 2.0 KB)',
          '    a.ts  (2.0 KB)',
          '  index.ts  (20 B) [modified]',
          '  new.ts  (4 B) [new]',
        ].join('\n'),
      );
    } finally {
      for (const path of ['src/new.ts', 'src/index.ts', 'src/util/b.test.ts']) await overlay.delete(path);
    }
  });

  it('lists the root by default, with hidden files, leaving directories that do not fit 1,000 entries unexpanded', async () => {
    const out = (await ws.listFiles({})).split('\n');
    expect(out[0]).toBe('./  (1236 files, 3.5 KB)');
    expect(out).toContain('  .github/  (1 file, 9 B)');
    expect(out).toContain('      ci.yml  (9 B)');
    expect(out).toContain('  .env  (9 B)');
    expect(out).toContain('  wide/  (1200 files, 1.2 KB) [not expanded]');
    expect(out).not.toContain('    f0000.txt  (1 B)');
    expect(out).toContain('        file29.ts  (10 B)');
    expect(out.at(-1)).toBe(
      '[1 directory not expanded, to keep the listing within 1000 entries: call list_files with path set to one to see inside]',
    );
    expect(out).toHaveLength(1 + 102 + 1);
  });

  it('cuts a single level that is too long, with a note', async () => {
    const out = (await ws.listFiles({ path: 'wide' })).split('\n');
    expect(out[0]).toBe('wide/  (1200 files, 1.2 KB)');
    expect(out[1]).toBe('  f0000.txt  (1 B)');
    expect(out).toHaveLength(1002);
    expect(out.at(-1)).toBe('[listing cut at 1000 entries; use glob or list_files with a narrower path]');
  });

  it('answers a file with its size and a missing directory with an error', async () => {
    expect(await ws.listFiles({ path: 'README.md' })).toBe('README.md  (5 B)');
    expect(await ws.listFiles({ path: 'nope' })).toBe('Error: nope: no such directory');
    expect(await ws.listFiles({ path: '../' })).toMatch(/^Error: path/);
  });
});
