import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBlobs } from '../../support/memory-blobs';
import { ensureSnapshot, snapshotKeyOf, unpackedTree } from '../../../functions/stages/snapshot';

/** A raw tar stream of hand-made entries (what a hostile archive could hold), gzipped. */
function rawTarball(
  entries: Array<{ path: string; type?: string; linkpath?: string; body?: string }>,
): Uint8Array {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '');
    const header = new tar.Header({
      path: entry.path,
      type: (entry.type ?? 'File') as never,
      size: body.length,
      mode: 0o644,
      mtime: new Date(0),
      ...(entry.linkpath ? { linkpath: entry.linkpath } : {}),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'snapshot-test-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('workspace snapshots', () => {
  it('fetches the tarball once per run and SHA, and unpacks it without its top folder', async () => {
    const source = path.join(work, 'src', 'acme-widgets-abc123');
    await mkdir(path.join(source, 'lib'), { recursive: true });
    await writeFile(path.join(source, 'package.json'), '{"name":"widgets"}');
    await writeFile(path.join(source, 'lib', 'slugify.js'), 'module.exports = (s) => s;\n');
    const tarball = new Uint8Array(
      await new Response(
        tar.c({ gzip: true, cwd: path.join(work, 'src') }, [
          'acme-widgets-abc123',
        ]) as unknown as ReadableStream,
      ).arrayBuffer(),
    );
    let calls = 0;
    const blobs = new MemoryBlobs();
    const deps = {
      blobs,
      github: {
        getTarball: async () => {
          calls += 1;
          return tarball;
        },
      },
    };
    const run = { runId: '01TESTRUN0000000000000000A', repo: { owner: 'acme', repo: 'widgets' } };
    const key = await ensureSnapshot(deps, run, 'abc123');
    expect(await ensureSnapshot(deps, run, 'abc123')).toBe(key);
    expect(calls).toBe(1);
    expect(key).toBe(snapshotKeyOf(run.runId, 'abc123'));

    const root = path.join(work, 'trees');
    const [tree, again] = await Promise.all([unpackedTree(deps, key, root), unpackedTree(deps, key, root)]);
    expect(again).toBe(tree);
    expect((await readdir(tree)).sort()).toEqual(['lib', 'package.json']);
    expect(await readFile(path.join(tree, 'lib', 'slugify.js'), 'utf8')).toContain('module.exports');
  });

  it('writes nothing outside the tree from a hostile archive', async () => {
    const blobs = new MemoryBlobs();
    const key = 'snapshots/hostile/x.tar.gz';
    const outside = path.join(work, 'escaped');
    blobs.objects.set(
      key,
      rawTarball([
        { path: 'top/', type: 'Directory' },
        { path: 'top/ok.txt', body: 'fine' },
        { path: 'top/../../escaped', body: 'dot-dot' },
        { path: `${outside}-absolute`, body: 'absolute' },
        { path: 'top/link', type: 'SymbolicLink', linkpath: work },
        { path: 'top/link/escaped-through-link', body: 'through a link' },
        { path: 'top/fifo', type: 'FIFO' },
      ]),
    );
    const tree = await unpackedTree({ blobs }, key, path.join(work, 'hostile'));
    expect(await readFile(path.join(tree, 'ok.txt'), 'utf8')).toBe('fine');
    expect(existsSync(outside)).toBe(false);
    expect(existsSync(`${outside}-absolute`)).toBe(false);
    expect(existsSync(path.join(work, 'escaped-through-link'))).toBe(false);
    expect(existsSync(path.join(tree, 'fifo'))).toBe(false);
  });

  it('says which snapshot is missing', async () => {
    await expect(unpackedTree({ blobs: new MemoryBlobs() }, 'snapshots/none/y.tar.gz', work)).rejects.toThrow(
      /no workspace snapshot under snapshots\/none/,
    );
  });
});
