import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryOverlay } from '../../../../functions/stages/workbench/overlay';
import { Workspace } from '../../../../functions/stages/workbench/workspace';
import { writeTree } from '../../../support/workbench-tree';

let root: string;
let outside: string;
let ws: Workspace;
const overlay = new MemoryOverlay();
const lines = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `line ${from + i}`).join('\n');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'wb-read-'));
  outside = await mkdtemp(join(tmpdir(), 'wb-outside-'));
  await writeTree(outside, { 'secret.txt': 'TOP SECRET\n', 'dir/x.txt': 'outside dir\n' });
  await writeTree(root, {
    'small.txt': 'alpha\nbeta\r\ngamma\n',
    'big.txt': `${lines(20_000)}\n`,
    'short-lines.txt': `${Array.from({ length: 3000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('\n')}\n`,
    'no-newline.txt': 'one\ntwo',
    'empty.txt': '',
    'long.txt': `${'x'.repeat(5000)}\nshort\n`,
    'wide.txt': `${Array.from({ length: 100 }, () => 'y'.repeat(1000)).join('\n')}\n`,
    'src/index.ts': 'export {};\n',
    'image.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1, 2, 3]),
    '.env': 'API_KEY=hunter2\n',
    '.env.example': 'API_KEY=\n',
    'certs/server.pem': '-----BEGIN PRIVATE KEY-----\n',
    '.aws/credentials': '[default]\n',
  });
  await symlink(join(outside, 'secret.txt'), join(root, 'escape.txt'));
  await symlink(join(outside, 'dir'), join(root, 'escape-dir'));
  await symlink('small.txt', join(root, 'alias.txt'));
  ws = Workspace.fromDirectory(root, overlay);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('read_file', () => {
  it('numbers lines like cat -n: six columns right-aligned, a tab, the text (CR not shown)', async () => {
    expect(await ws.readFile({ path: 'small.txt' })).toBe('     1\talpha\n     2\tbeta\n     3\tgamma');
    expect(await ws.readFile({ path: 'no-newline.txt' })).toBe('     1\tone\n     2\ttwo');
  });

  it('reads 2,000 lines by default and says where to read on', async () => {
    const out = (await ws.readFile({ path: 'short-lines.txt' })).split('\n');
    expect(out).toHaveLength(2001);
    expect(out[0]).toBe('     1\ta');
    expect(out[1999]).toBe('  2000\tx');
    expect(out[2000]).toBe('[lines 1-2000 of 3000; read on with offset=2001]');
  });

  it('reads fewer lines when 2,000 would pass 30,000 characters, and continues from the next', async () => {
    const out = (await ws.readFile({ path: 'big.txt' })).split('\n');
    const footer = /^\[lines 1-(\d+) of 20000; read on with offset=(\d+)\]$/.exec(out.at(-1) ?? '');
    const last = Number(footer?.[1]);
    expect(last).toBeGreaterThan(1000);
    expect(last).toBeLessThan(2000);
    expect(Number(footer?.[2])).toBe(last + 1);
    expect(out.at(-2)).toBe(`${String(last).padStart(6)}\tline ${last}`);
    expect(out.join('\n').length).toBeLessThanOrEqual(30_000);
  });

  it('starts at offset and stops after limit lines', async () => {
    const out = (await ws.readFile({ path: 'big.txt', offset: 500, limit: 3 })).split('\n');
    expect(out).toEqual([
      '   500\tline 500',
      '   501\tline 501',
      '   502\tline 502',
      '[lines 500-502 of 20000; read on with offset=503]',
    ]);
  });

  it('returns the last lines numbered 19,991-20,000 at the end of a 20,000-line file, with no continuation line', async () => {
    const out = (await ws.readFile({ path: 'big.txt', offset: 19_991 })).split('\n');
    expect(out).toHaveLength(10);
    expect(out[0]).toBe(' 19991\tline 19991');
    expect(out[9]).toBe(' 20000\tline 20000');
  });

  it('says an offset past the end is past the end, naming the line count', async () => {
    const out = await ws.readFile({ path: 'big.txt', offset: 20_001 });
    expect(out).toMatch(/^Error: /);
    expect(out).toContain('20000 lines');
  });

  it('cuts lines over 2,000 characters with a marker', async () => {
    const [first, second] = (await ws.readFile({ path: 'long.txt' })).split('\n');
    expect(first?.startsWith(`     1\t${'x'.repeat(2000)}`)).toBe(true);
    expect(first).not.toContain('x'.repeat(2001));
    expect(first).toContain('line cut: 5000 characters');
    expect(second).toBe('     2\tshort');
  });

  it('stops before 30,000 characters and continues from the first line not shown', async () => {
    const out = await ws.readFile({ path: 'wide.txt' });
    expect(out.length).toBeLessThanOrEqual(30_000);
    const last = out.split('\n').at(-1);
    const match = /^\[lines 1-(\d+) of 100; read on with offset=(\d+)\]$/.exec(last ?? '');
    expect(match).not.toBeNull();
    expect(Number(match?.[2])).toBe(Number(match?.[1]) + 1);
    const next = await ws.readFile({ path: 'wide.txt', offset: Number(match?.[2]), limit: 1 });
    expect(next.startsWith(`${String(Number(match?.[2])).padStart(6)}\t`)).toBe(true);
  });

  it('says an empty file is empty', async () => {
    expect(await ws.readFile({ path: 'empty.txt' })).toContain('empty (0 lines)');
  });

  it.each([
    ['missing.txt', 'missing.txt: no such file'],
    ['src', 'src is a directory'],
    ['image.png', 'image.png is a binary file'],
  ])('answers %s with a clear error', async (path, text) => {
    const out = await ws.readFile({ path });
    expect(out).toMatch(/^Error: /);
    expect(out).toContain(text);
  });

  it.each(['/etc/passwd', '../../etc/passwd', 'src/../../x', '.git/config'])(
    'refuses the escape %s',
    async (path) => {
      expect(await ws.readFile({ path })).toMatch(/^Error: path /);
    },
  );

  it('refuses links that point outside the workspace, file or directory, and follows links inside it', async () => {
    const file = await ws.readFile({ path: 'escape.txt' });
    expect(file).toContain('points outside the workspace');
    expect(file).not.toContain('TOP SECRET');
    const dir = await ws.readFile({ path: 'escape-dir/x.txt' });
    expect(dir).toMatch(/^Error: escape-dir is a symbolic link that points outside the workspace/);
    expect(await ws.readFile({ path: 'alias.txt' })).toBe('     1\talpha\n     2\tbeta\n     3\tgamma');
  });

  it.each(['.env', 'certs/server.pem', '.aws/credentials'])('refuses the secret file %s', async (path) => {
    const out = await ws.readFile({ path });
    expect(out).toMatch(/^Error: /);
    expect(out).toContain('holds secrets by convention');
    expect(out).not.toContain('hunter2');
  });

  it('reads .env.example', async () => {
    expect(await ws.readFile({ path: '.env.example' })).toBe('     1\tAPI_KEY=');
  });

  it('reads pending changes: new content, new files, and not deleted files', async () => {
    await overlay.put({ path: 'small.txt', deleted: false, content: 'changed\n' });
    await overlay.put({ path: 'src/new.ts', deleted: false, content: 'new\n' });
    await overlay.put({ path: 'src/index.ts', deleted: true });
    try {
      expect(await ws.readFile({ path: 'small.txt' })).toBe('     1\tchanged');
      expect(await ws.readFile({ path: 'src/new.ts' })).toBe('     1\tnew');
      expect(await ws.readFile({ path: 'src/index.ts' })).toContain('deleted by a pending change');
    } finally {
      for (const path of ['small.txt', 'src/new.ts', 'src/index.ts']) await overlay.delete(path);
    }
  });
});
