import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryOverlay } from '../../../../functions/stages/workbench/overlay';
import { Workspace } from '../../../../functions/stages/workbench/workspace';
import { writeTree } from '../../../support/workbench-tree';

let root: string;
let outside: string;
let overlay: MemoryOverlay;
let ws: Workspace;

const BASE = {
  'src/app.ts': 'import { a } from "./a";\n\nexport function main() {\n  return a(1);\n}\n',
  'src/dup.ts': 'let x = 1;\nlet y = 2;\nlet x = 1;\nlet z = 3;\nlet x = 1;\n',
  'src/crlf.ts': 'first\r\nsecond\r\nthird\r\n',
  'README.md': '# Widgets\n\nA line.\n',
  'docs/long.txt': `${Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n')}\n`,
  'docs/no-eol.txt': 'last line has no newline',
  'logo.png': Buffer.from([1, 0, 2, 0]),
  '.env': 'TOKEN=abc\n',
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'wb-changes-'));
  outside = await mkdtemp(join(tmpdir(), 'wb-changes-outside-'));
  await writeTree(outside, { 'target.txt': 'outside\n' });
  await writeTree(root, BASE);
  await symlink(outside, join(root, 'linked'));
});

beforeEach(() => {
  overlay = new MemoryOverlay();
  ws = Workspace.fromDirectory(root, overlay);
});

afterAll(async () => {
  // The base tree is never written: every change lives in the overlay.
  expect(await readFile(join(root, 'src/app.ts'), 'utf8')).toBe(BASE['src/app.ts']);
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('write_file', () => {
  it('creates and replaces files in the overlay', async () => {
    expect(await ws.writeFile({ path: 'src/new.ts', content: 'a\nb\n' })).toBe(
      'created src/new.ts (2 lines, 4 B)',
    );
    expect(await ws.writeFile({ path: 'README.md', content: '# New\n' })).toBe(
      'replaced README.md (1 line, 6 B)',
    );
    expect(await overlay.list()).toHaveLength(2);
    expect(await ws.readFile({ path: 'README.md' })).toBe('     1\t# New');
  });

  it('drops the pending change when the content equals the base version', async () => {
    await ws.writeFile({ path: 'README.md', content: 'x' });
    const out = await ws.writeFile({ path: 'README.md', content: BASE['README.md'] });
    expect(out).toContain('no change is pending');
    expect(await overlay.list()).toEqual([]);
  });

  it.each([
    ['/tmp/x', 'relative to the repository root'],
    ['../x', 'outside the repository'],
    ['src', 'src is a directory'],
    ['README.md/x', 'README.md is a file'],
    ['.env', 'holds secrets'],
    ['keys/deploy.pem', 'holds secrets'],
    ['linked/target.txt', 'linked is a symbolic link that points outside the workspace'],
  ])('refuses %s', async (path, why) => {
    const out = await ws.writeFile({ path, content: 'x' });
    expect(out).toMatch(/^Error: /);
    expect(out).toContain(why);
    expect(await overlay.list()).toEqual([]);
  });
});

describe('edit_file', () => {
  it('replaces a unique occurrence and shows the edited lines', async () => {
    const out = await ws.editFile({ path: 'src/app.ts', old_text: 'return a(1);', new_text: 'return a(2);' });
    expect(out).toBe(
      [
        'edited src/app.ts: replaced 1 occurrence (line 4)',
        'Lines 2-5 now read:',
        '     2\t',
        '     3\texport function main() {',
        '     4\t  return a(2);',
        '     5\t}',
      ].join('\n'),
    );
    expect(
      (await overlay.get('src/app.ts'))?.deleted === false && (await overlay.get('src/app.ts')),
    ).toMatchObject({
      content: BASE['src/app.ts'].replace('a(1)', 'a(2)'),
    });
  });

  it('refuses a non-unique match without replace_all, giving the count and line numbers', async () => {
    const out = await ws.editFile({ path: 'src/dup.ts', old_text: 'let x = 1;', new_text: 'let x = 9;' });
    expect(out).toBe(
      'Error: old_text occurs 3 times in src/dup.ts (lines 1, 3, 5); include more surrounding lines in old_text ' +
        'so that it occurs once, or set replace_all=true to replace every occurrence',
    );
    expect(await overlay.list()).toEqual([]);
  });

  it('replaces every occurrence with replace_all', async () => {
    const out = await ws.editFile({
      path: 'src/dup.ts',
      old_text: 'let x = 1;',
      new_text: 'let x = 9;',
      replace_all: true,
    });
    expect(out).toBe('edited src/dup.ts: replaced 3 occurrences (lines 1, 3, 5)');
    expect(await ws.readFile({ path: 'src/dup.ts', limit: 3 })).toBe(
      '     1\tlet x = 9;\n     2\tlet y = 2;\n     3\tlet x = 9;\n[lines 1-3 of 5; read on with offset=4]',
    );
  });

  it('answers a missing match with the count and the nearest lines', async () => {
    const out = await ws.editFile({
      path: 'src/app.ts',
      old_text: 'export function mian() {',
      new_text: 'x',
    });
    expect(out).toMatch(/^Error: old_text was not found in src\/app.ts \(0 occurrences\)\./);
    expect(out).toContain('The nearest lines to the first line of old_text');
    expect(out.split('\n')[1]).toBe('     3\texport function main() {');
  });

  it('points at a match that differs only in whitespace', async () => {
    const out = await ws.editFile({
      path: 'src/app.ts',
      old_text: 'export function main() {\n return a(1);',
      new_text: 'x',
    });
    expect(out).toContain('(0 occurrences)');
    expect(out).toContain('It would match at line 3 if whitespace were ignored');
  });

  it('says when nothing resembles old_text', async () => {
    const out = await ws.editFile({ path: 'src/app.ts', old_text: 'zzzzqqqq', new_text: 'x' });
    expect(out).toContain('No line resembles it');
  });

  it('matches plain newlines against a CRLF file and keeps CRLF', async () => {
    const out = await ws.editFile({ path: 'src/crlf.ts', old_text: 'first\nsecond', new_text: 'one\ntwo' });
    expect(out).toContain('replaced 1 occurrence (line 1)');
    expect(await overlay.get('src/crlf.ts')).toMatchObject({ content: 'one\r\ntwo\r\nthird\r\n' });
  });

  it.each([
    [{ path: 'nope.ts', old_text: 'a', new_text: 'b' }, 'nope.ts: no such file'],
    [{ path: 'logo.png', old_text: 'a', new_text: 'b' }, 'binary'],
    [{ path: '.env', old_text: 'TOKEN', new_text: 'b' }, 'holds secrets'],
    [{ path: 'README.md', old_text: '', new_text: 'b' }, 'old_text must not be empty'],
    [{ path: 'README.md', old_text: 'A line.', new_text: 'A line.' }, 'nothing would change'],
  ])('refuses %j', async (input, why) => {
    const out = await ws.editFile(input);
    expect(out).toMatch(/^Error: /);
    expect(out).toContain(why);
    expect(out).not.toContain('abc');
  });

  it('keeps every one of many parallel edits of one file', async () => {
    const edits = Array.from({ length: 20 }, (_, i) =>
      ws.editFile({ path: 'README.md', old_text: 'A line.', new_text: `A line.\nline ${i}` }),
    );
    const answers = await Promise.all(edits);
    expect(answers.every((answer) => answer.startsWith('edited README.md'))).toBe(true);
    const content = (await overlay.get('README.md')) as { content: string };
    for (let i = 0; i < 20; i++) expect(content.content).toContain(`line ${i}\n`);
  });
});

describe('delete_file and revert_file', () => {
  it('deletes a base file and brings it back with revert_file', async () => {
    expect(await ws.deleteFile({ path: 'README.md' })).toBe('deleted README.md (revert_file restores it)');
    expect(await ws.readFile({ path: 'README.md' })).toContain('deleted by a pending change');
    expect(await ws.deleteFile({ path: 'README.md' })).toMatch(/^Error: README.md was deleted/);
    expect(await ws.revertFile({ path: 'README.md' })).toBe(
      'reverted README.md: the deletion is undone; it reads as in the base tree',
    );
    expect(await ws.readFile({ path: 'README.md' })).toBe('     1\t# Widgets\n     2\t\n     3\tA line.');
  });

  it('deleting a new file leaves nothing pending', async () => {
    await ws.writeFile({ path: 'tmp.txt', content: 'x' });
    expect(await ws.deleteFile({ path: 'tmp.txt' })).toContain('it was a new file');
    expect(await overlay.list()).toEqual([]);
  });

  it('reverts edits and new files', async () => {
    await ws.editFile({ path: 'README.md', old_text: 'A line.', new_text: 'B line.' });
    await ws.writeFile({ path: 'docs/new.md', content: 'new' });
    expect(await ws.revertFile({ path: 'README.md' })).toBe(
      'reverted README.md: the pending edits are dropped; it reads as in the base tree',
    );
    expect(await ws.revertFile({ path: 'docs/new.md' })).toBe(
      'reverted docs/new.md: it was a new file, so it is gone',
    );
    expect(await overlay.list()).toEqual([]);
    expect(await ws.revertFile({ path: 'README.md' })).toContain('has no pending change');
    expect(await ws.revertFile({ path: 'ghost.md' })).toBe(
      'Error: ghost.md: no such file and no pending change',
    );
  });

  it('refuses to delete directories, missing files and secrets', async () => {
    expect(await ws.deleteFile({ path: 'src' })).toMatch(/^Error: src is a directory/);
    expect(await ws.deleteFile({ path: 'ghost' })).toBe('Error: ghost: no such file');
    expect(await ws.deleteFile({ path: '.env' })).toMatch(/^Error: .env holds secrets/);
  });
});

describe('diff', () => {
  it('says when nothing is pending', async () => {
    expect(await ws.diff({})).toBe('No pending changes.');
    expect(await ws.diff({ path: 'src' })).toBe('No pending changes under src.');
    expect(await ws.diff({ path: 'nowhere' })).toBe('Error: nowhere: no such file or directory');
  });

  it('shows edits, new files and deletions as a unified diff in path order', async () => {
    await ws.editFile({ path: 'src/app.ts', old_text: 'return a(1);', new_text: 'return a(2);' });
    await ws.writeFile({ path: 'docs/new.md', content: 'hello\n' });
    await ws.deleteFile({ path: 'README.md' });
    expect(await ws.diff({})).toBe(
      [
        '3 files with pending changes:',
        'diff --git a/README.md b/README.md',
        'deleted file',
        '--- a/README.md',
        '+++ /dev/null',
        '@@ -1,3 +0,0 @@',
        '-# Widgets',
        '-',
        '-A line.',
        'diff --git a/docs/new.md b/docs/new.md',
        'new file',
        '--- /dev/null',
        '+++ b/docs/new.md',
        '@@ -0,0 +1,1 @@',
        '+hello',
        'diff --git a/src/app.ts b/src/app.ts',
        '--- a/src/app.ts',
        '+++ b/src/app.ts',
        '@@ -1,5 +1,5 @@',
        ' import { a } from "./a";',
        ' ',
        ' export function main() {',
        '-  return a(1);',
        '+  return a(2);',
        ' }',
      ].join('\n'),
    );
    const one = await ws.diff({ path: 'src/app.ts' });
    expect(one.split('\n').slice(0, 2)).toEqual([
      '1 file with pending changes:',
      'diff --git a/src/app.ts b/src/app.ts',
    ]);
  });

  it('keeps 3 lines of context and separate hunks for distant changes', async () => {
    const base = BASE['docs/long.txt'];
    await ws.writeFile({
      path: 'docs/long.txt',
      content: base.replace('line 2\n', 'LINE 2\n').replace('line 28', 'LINE 28'),
    });
    const out = await ws.diff({ path: 'docs/long.txt' });
    expect(out.match(/^@@ .* @@$/gm)).toEqual(['@@ -1,5 +1,5 @@', '@@ -25,6 +25,6 @@']);
    expect(out).toContain(' line 1\n-line 2\n+LINE 2\n line 3\n line 4\n line 5\n@@');
  });

  it('marks a missing final newline', async () => {
    await ws.deleteFile({ path: 'docs/no-eol.txt' });
    await ws.writeFile({ path: 'docs/also-no-eol.txt', content: 'x' });
    expect((await ws.diff({ path: 'docs/no-eol.txt' })).split('\n').slice(-3)).toEqual([
      '@@ -1,1 +0,0 @@',
      '-last line has no newline',
      '\\ No newline at end of file',
    ]);
    expect((await ws.diff({ path: 'docs/also-no-eol.txt' })).split('\n').slice(-3)).toEqual([
      '@@ -0,0 +1,1 @@',
      '+x',
      '\\ No newline at end of file',
    ]);
  });

  it('a revert removes the file from the diff', async () => {
    await ws.editFile({ path: 'src/app.ts', old_text: 'return a(1);', new_text: 'return a(2);' });
    await ws.revertFile({ path: 'src/app.ts' });
    expect(await ws.diff({})).toBe('No pending changes.');
  });
});
