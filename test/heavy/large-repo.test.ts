import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OctokitGitHub } from '../../functions/shared/adapters/github';
import { MemoryOverlay, runWorkbenchTool, Workspace } from '../../functions/stages/workbench';
import { ensureSnapshot, unpackedTree } from '../../functions/stages/snapshot';
import { type Forge, startForge } from '../../local/forge';
import { MemoryBlobs } from '../support/memory-blobs';

/**
 * Issue 16 on a real-sized repository: 5,000 files (about 50 MB) on the forge, built through its
 * git objects; the run's workspace is read with one tarball (≤ 10 GitHub calls in all) and the
 * model's tools see every file. Latency is the bench's business, not asserted here.
 */

const FILES = 5_000;
const FILE_BYTES = 10_000;
const owner = 'acme';
const name = 'monorepo';
const path4900 = `pkg/${String(4899).padStart(4, '0')}.js`;

function repositoryFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < FILES; i++) {
    const id = String(i).padStart(4, '0');
    const line = `export const value${id} = ${i}; // ${'x'.repeat(60)}\n`;
    files[`pkg/${id}.js`] = line.repeat(Math.ceil(FILE_BYTES / line.length));
  }
  files[path4900] += 'export const needle = "only-in-the-4900th-file";\n';
  files['big/long.txt'] = Array.from({ length: 20_000 }, (_, i) => `line ${i + 1}`).join('\n');
  return files;
}

let forge: Forge;
let work: string;
let calls = 0;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'large-repo-'));
  forge = await startForge({ webhookSecret: 'heavy' });
  await forge.actions.createUser('alice');
  await forge.actions.createRepo({
    owner,
    name,
    defaultBranch: 'main',
    files: repositoryFiles(),
    roles: { alice: 'admin', [forge.botLogin]: 'write' },
    author: 'alice',
  });
}, 600_000);

afterAll(async () => {
  await forge?.close();
  await rm(work, { recursive: true, force: true });
});

describe('a 5,000-file repository', () => {
  it('is read with one tarball, and every file is in reach of the tools', async () => {
    const github = new OctokitGitHub({
      baseUrl: forge.apiUrl,
      credentials: { kind: 'token', token: forge.botToken },
      pacing: { writeIntervalMs: 0, notificationIntervalMs: 0 },
      retries: 0,
      fetch: (input, init) => {
        calls += 1;
        return fetch(input, init);
      },
    });
    const repo = { owner, repo: name };
    const head = await github.getDefaultBranch(repo);
    const blobs = new MemoryBlobs();
    const key = await ensureSnapshot(
      { github, blobs },
      { runId: '01HEAVY0000000000000000000', repo },
      head.sha,
    );
    const tree = await unpackedTree({ blobs }, key, path.join(work, 'trees'));
    expect(calls).toBeLessThanOrEqual(10);

    const workspace = Workspace.fromDirectory(tree, new MemoryOverlay());
    const found = await runWorkbenchTool(workspace, 'grep', { pattern: 'only-in-the-4900th-file' });
    expect(found.split('\n')[0]).toBe(path4900);
    const tail = await runWorkbenchTool(workspace, 'read_file', { path: 'big/long.txt', offset: 19_991 });
    expect(tail.split('\n')).toEqual(
      Array.from({ length: 10 }, (_, i) => `${String(19_991 + i).padStart(6)}\tline ${19_991 + i}`),
    );
    const listed = await runWorkbenchTool(workspace, 'glob', { pattern: 'pkg/48*.js' });
    expect(listed).toContain(path4900);
    // Reading did not call GitHub again.
    expect(calls).toBeLessThanOrEqual(10);
  }, 600_000);
});
