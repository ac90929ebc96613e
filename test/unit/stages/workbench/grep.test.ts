import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryOverlay } from '../../../../functions/stages/workbench/overlay';
import { Workspace } from '../../../../functions/stages/workbench/workspace';
import { generatedPath, generateTree, writeTree } from '../../../support/workbench-tree';

let root: string;
let outside: string;
let ws: Workspace;
const overlay = new MemoryOverlay();
const SECRET_NOTE = '[not searched, as they hold secrets by convention: .env, id_rsa]';
/** The answer without the note on secret files, which every whole-tree search here carries. */
const results = (out: string) => out.split('\n').filter((line) => line !== SECRET_NOTE);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'wb-grep-'));
  outside = await mkdtemp(join(tmpdir(), 'wb-grep-outside-'));
  await writeTree(outside, { 'leak.ts': 'const TODO = "outside";\n' });
  await writeTree(root, {
    'b.ts': 'one\nTODO: b first\nthree\nfour\nfive\nsix\nTODO: b second\neight\n',
    'a.ts': 'TODO: a only\n',
    'src/c.ts': 'alpha\nbeta\ntodo lower\nTODO upper\n',
    'src/z/d.md': 'nothing here\n',
    'lib/e.js': 'x\nTODO e1\nTODO e2\nTODO e3\n',
    'package-lock.json': '{ "TODO": "lockfiles are searched" }\n',
    'node_modules/dep/index.js': '// TODO vendored\n',
    'dist/app.min.js': 'TODO minified\n',
    'logo.png': Buffer.concat([Buffer.from('TODO'), Buffer.from([0, 1, 2])]),
    '.env': 'TODO=secret-value\n',
    '.env.example': 'TODO=\n',
    id_rsa: 'TODO private key\n',
    'many.txt': `${Array.from({ length: 300 }, (_, i) => `hit ${i}`).join('\n')}\n`,
    'redos.txt': `${'a'.repeat(5000)}!\n`,
    'crlf.txt': 'first\r\nTODO crlf\r\nlast\r\n',
    'src/credentials/store.ts': 'export const store = "keychain";\n',
  });
  await symlink(join(outside, 'leak.ts'), join(root, 'leak.ts'));
  ws = Workspace.fromDirectory(root, overlay, { grepTimeoutMs: 300 });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('grep files_with_matches (the default)', () => {
  it('lists matching paths sorted by path, skipping binary, vendored, secret and outside files', async () => {
    const out = await ws.grep({ pattern: 'TODO' });
    const [paths, note] = out.split('\n[');
    expect(`[${note}`).toBe(SECRET_NOTE);
    expect(paths?.split('\n')).toEqual([
      '.env.example',
      'a.ts',
      'b.ts',
      'crlf.txt',
      'lib/e.js',
      'package-lock.json',
      'src/c.ts',
    ]);
    expect(out).not.toContain('secret-value');
  });

  it('accepts a leading (?i) and ignore_case', async () => {
    expect(await ws.grep({ pattern: '(?i)^todo lower', path: 'src' })).toBe('src/c.ts');
    expect((await ws.grep({ pattern: 'todo', ignore_case: true, path: 'src' })).split('\n')).toEqual([
      'src/c.ts',
    ]);
    expect(await ws.grep({ pattern: '^todo', path: 'b.ts' })).toContain('No matches');
  });

  it('restricts to a directory or a file with path, and to file names with glob', async () => {
    expect(await ws.grep({ pattern: 'TODO', path: 'lib' })).toBe('lib/e.js');
    expect(await ws.grep({ pattern: 'TODO', path: 'b.ts' })).toBe('b.ts');
    expect((await ws.grep({ pattern: 'TODO', glob: '*.ts' })).split('\n')).toEqual([
      'a.ts',
      'b.ts',
      'src/c.ts',
    ]);
    expect(await ws.grep({ pattern: 'TODO', glob: 'src/**/*.ts' })).toBe('src/c.ts');
    expect((await ws.grep({ pattern: 'TODO', glob: '*.{js,json}' })).split('\n')).toEqual([
      'lib/e.js',
      'package-lock.json',
    ]);
  });

  it('searches a directory whose name only looks like a secret file', async () => {
    expect(await ws.grep({ pattern: 'keychain', path: 'src/credentials' })).toBe('src/credentials/store.ts');
  });

  it('searches vendored files when path points inside them', async () => {
    expect(await ws.grep({ pattern: 'TODO', path: 'node_modules' })).toBe('node_modules/dep/index.js');
    expect(await ws.grep({ pattern: 'TODO', path: 'dist/app.min.js' })).toBe('dist/app.min.js');
  });

  it('answers bad paths, globs and patterns with error texts', async () => {
    expect(await ws.grep({ pattern: 'x', path: 'nowhere' })).toBe(
      'Error: nowhere: no such file or directory',
    );
    expect(await ws.grep({ pattern: 'x', path: '../up' })).toMatch(/^Error: path "..\/up" leads outside/);
    expect(await ws.grep({ pattern: 'x', path: '.env' })).toMatch(/^Error: .env holds secrets/);
    expect(await ws.grep({ pattern: '(unclosed' })).toMatch(/^Error: invalid regular expression/);
    expect(await ws.grep({ pattern: 'x', glob: '../*' })).toMatch(/^Error: glob/);
  });

  it('caps at head_limit entries with a note of how many were left out', async () => {
    const out = results(await ws.grep({ pattern: 'TODO', head_limit: 2 }));
    expect(out.slice(0, 2)).toEqual(['.env.example', 'a.ts']);
    expect(out[2]).toBe(
      '[showing 2 of 7 matching files; 5 more left out: narrow path or glob, or raise head_limit]',
    );
  });
});

describe('grep content', () => {
  it('shows path:line:text for each matching line, CR not shown', async () => {
    expect(await ws.grep({ pattern: 'TODO', output_mode: 'content', path: 'lib' })).toBe(
      'lib/e.js:2:TODO e1\nlib/e.js:3:TODO e2\nlib/e.js:4:TODO e3',
    );
    expect(await ws.grep({ pattern: 'TODO', output_mode: 'content', path: 'crlf.txt' })).toBe(
      'crlf.txt:2:TODO crlf',
    );
  });

  it('shows context lines as path-line-text, merges overlapping groups and separates groups with --', async () => {
    const out = await ws.grep({ pattern: 'TODO', output_mode: 'content', context: 1, glob: '{a,b}.ts' });
    expect(out.split('\n')).toEqual([
      'a.ts:1:TODO: a only',
      '--',
      'b.ts-1-one',
      'b.ts:2:TODO: b first',
      'b.ts-3-three',
      '--',
      'b.ts-6-six',
      'b.ts:7:TODO: b second',
      'b.ts-8-eight',
    ]);
    const merged = await ws.grep({ pattern: 'TODO', output_mode: 'content', context: 2, path: 'lib' });
    expect(merged.split('\n')).toEqual([
      'lib/e.js-1-x',
      'lib/e.js:2:TODO e1',
      'lib/e.js:3:TODO e2',
      'lib/e.js:4:TODO e3',
    ]);
  });

  it('caps at head_limit matching lines (100 by default) with a note', async () => {
    const out = results(await ws.grep({ pattern: '^hit \\d+$', output_mode: 'content' }));
    expect(out).toHaveLength(101);
    expect(out[99]).toBe('many.txt:100:hit 99');
    expect(out[100]).toBe(
      '[showing 100 of 300 matching lines; 200 more left out: narrow path or glob, or raise head_limit]',
    );
    const two = results(await ws.grep({ pattern: 'TODO', output_mode: 'content', head_limit: 2 }));
    expect(two[0]).toBe('.env.example:1:TODO=');
    expect(two[1]).toBe('a.ts:1:TODO: a only');
    expect(two[2]).toContain('showing 2 of 10 matching lines; 8 more left out');
  });

  it('never matches across lines', async () => {
    expect(await ws.grep({ pattern: 'alpha\\sbeta' })).toContain('No matches');
    expect(results(await ws.grep({ pattern: 'beta$', output_mode: 'content' }))).toEqual(['src/c.ts:2:beta']);
  });
});

describe('grep count', () => {
  it('shows path:count of matching lines, sorted by path', async () => {
    expect(await ws.grep({ pattern: 'TODO', output_mode: 'count', glob: '*.{ts,js}' })).toBe(
      'a.ts:1\nb.ts:2\nlib/e.js:3\nsrc/c.ts:1',
    );
  });
});

describe('grep over pending changes', () => {
  it('sees new and changed content and not deleted files', async () => {
    await overlay.put({ path: 'src/new.ts', deleted: false, content: 'TODO new\n' });
    await overlay.put({ path: 'a.ts', deleted: true });
    await overlay.put({ path: 'b.ts', deleted: false, content: 'no more\n' });
    try {
      expect(results(await ws.grep({ pattern: 'TODO', glob: '*.ts' }))).toEqual(['src/c.ts', 'src/new.ts']);
    } finally {
      for (const path of ['src/new.ts', 'a.ts', 'b.ts']) await overlay.delete(path);
    }
  });
});

describe('grep time limit', () => {
  it('stops a catastrophically backtracking pattern with an error text', async () => {
    const started = performance.now();
    const out = await ws.grep({ pattern: '(a+)+$', path: 'redos.txt' });
    expect(out).toMatch(/^Error: the pattern ran for more than 300 ms/);
    expect(performance.now() - started).toBeLessThan(3000);
    // The process is fine afterwards.
    expect(results(await ws.grep({ pattern: 'a+!$' }))).toEqual(['redos.txt']);
  });
});

describe('grep on a 5,000-file, 50 MB tree', () => {
  let big: string;
  beforeAll(async () => {
    big = await mkdtemp(join(tmpdir(), 'wb-grep-big-'));
    await generateTree(big, 5000, 10_000);
  }, 60_000);
  afterAll(async () => {
    await rm(big, { recursive: true, force: true });
  });

  it('finds a hit that is only in the 4,900th file, fast once the tree is cached', async () => {
    const bigWs = Workspace.fromDirectory(big, new MemoryOverlay());
    const pattern = "'file-4899'";
    expect(await bigWs.grep({ pattern })).toBe(generatedPath(4899));
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      expect(await bigWs.grep({ pattern, output_mode: 'content' })).toBe(
        `${generatedPath(4899)}:3:const id4899 = 'file-4899';`,
      );
      times.push(performance.now() - started);
    }
    expect(Math.min(...times)).toBeLessThan(1000);
  });
});
