import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaseTree } from '../../../../functions/stages/workbench/base-tree';
import { writeTree } from '../../../support/workbench-tree';

let root: string;
let outside: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'wb-base-'));
  outside = await mkdtemp(join(tmpdir(), 'wb-base-outside-'));
  await writeTree(outside, { 'secret.txt': 'outside\n' });
  await writeTree(root, {
    'src/a.ts': 'a\n',
    'src/b.ts': 'bb\n',
    '.git/config': '[core]\n',
    'vendor/.git': 'gitdir: ../.git/modules/vendor\n',
    'bin.dat': Buffer.from([1, 2, 0, 3]),
    'conf/.env': 'TOKEN=abc\n',
  });
  await symlink('conf/.env', join(root, 'settings.txt'));
  await symlink(join(outside, 'secret.txt'), join(root, 'abs-out.txt'));
  await symlink('../../' + outside.split('/').pop() + '/secret.txt', join(root, 'src/rel-out.txt'));
  await symlink('src/a.ts', join(root, 'alias.ts'));
  await symlink('src', join(root, 'src-link'));
  await symlink('missing.txt', join(root, 'broken.txt'));
  execFileSync('mkfifo', [join(root, 'pipe')]);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('BaseTree', () => {
  it('indexes regular files and links to files inside the root, sorted, without .git or special files', async () => {
    const index = await new BaseTree(root).index();
    expect(index.paths).toEqual(['alias.ts', 'bin.dat', 'conf/.env', 'src/a.ts', 'src/b.ts']);
    expect(index.files.get('src/b.ts')?.size).toBe(3);
    expect(index.truncated).toBe(false);
  });

  it('records, and never reads, links that leave the root, dangle or point at directories', async () => {
    const tree = new BaseTree(root);
    const { links } = await tree.index();
    expect(Object.fromEntries(links)).toEqual({
      'abs-out.txt': 'is a symbolic link that points outside the workspace',
      'src/rel-out.txt': 'is a symbolic link that points outside the workspace',
      'src-link': 'is a symbolic link to a directory (not followed)',
      'broken.txt': 'is a broken symbolic link',
      'settings.txt': 'is a symbolic link to a file that holds secrets by convention',
    });
    expect(await tree.read('abs-out.txt')).toBeUndefined();
    expect(await tree.read('src/rel-out.txt')).toBeUndefined();
    expect(await tree.read('src-link/a.ts')).toBeUndefined();
    expect(await tree.read('settings.txt')).toBeUndefined();
  });

  it('reads text and recognises binary files', async () => {
    const tree = new BaseTree(root);
    expect(await tree.read('alias.ts')).toEqual({ kind: 'text', text: 'a\n', size: 2 });
    expect(await tree.read('bin.dat')).toEqual({ kind: 'binary', size: 4 });
    expect(await tree.read('nope')).toBeUndefined();
  });

  it('serves repeated reads from memory within its budget', async () => {
    const tree = new BaseTree(root);
    const first = await tree.read('src/a.ts');
    expect(await tree.read('src/a.ts')).toBe(first);
    const stingy = new BaseTree(root, { cacheBytes: 0 });
    const once = await stingy.read('src/a.ts');
    expect(await stingy.read('src/a.ts')).not.toBe(once);
    expect(await stingy.read('src/a.ts')).toEqual(once);
  });
});
